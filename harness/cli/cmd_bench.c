/*
 * cli/cmd_bench.c — `mallet bench`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_bench(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet bench: not implemented in this build yet\n");
    return 2;
}
