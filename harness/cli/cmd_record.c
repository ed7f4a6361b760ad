/*
 * cli/cmd_record.c — `mallet record`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_record(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet record: not implemented in this build yet\n");
    return 2;
}
