/*
 * cli/cmd_stress.c — `mallet stress`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_stress(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet stress: not implemented in this build yet\n");
    return 2;
}
