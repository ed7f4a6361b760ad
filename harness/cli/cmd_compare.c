/*
 * cli/cmd_compare.c — `mallet compare`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_compare(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet compare: not implemented in this build yet\n");
    return 2;
}
