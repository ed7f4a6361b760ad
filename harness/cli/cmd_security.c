/*
 * cli/cmd_security.c — `mallet security`. Placeholder until its issue lands: it fails
 * loudly rather than pretending to work.
 */
#include <stdio.h>

#include "cli/commands.h"

int mallet_cmd_security(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "mallet security: not implemented in this build yet\n");
    return 2;
}
