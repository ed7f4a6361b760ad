/*
 * cli/cmd_security.c — `mallet security`: the misuse matrix
 * (harness/security/).
 */
#include "cli/commands.h"
#include "security/security.h"

int mallet_cmd_security(int argc, char **argv)
{
    return security_main(argc, argv);
}
