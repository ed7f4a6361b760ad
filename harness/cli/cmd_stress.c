/*
 * cli/cmd_stress.c — `mallet stress`: the multithreaded stress, thread
 * lifecycle and out-of-memory runs (harness/stress/).
 */
#include "cli/commands.h"
#include "stress/stress.h"

int mallet_cmd_stress(int argc, char **argv)
{
    return stress_main(argc, argv);
}
