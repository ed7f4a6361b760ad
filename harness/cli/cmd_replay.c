/*
 * cli/cmd_replay.c — `mallet replay`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_replay(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet replay: not implemented in this build yet\n");
    return 2;
}
