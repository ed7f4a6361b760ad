/*
 * cli/cmd_fuzz.c — `mallet fuzz`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_fuzz(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet fuzz: not implemented in this build yet\n");
    return 2;
}
