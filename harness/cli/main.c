/*
 * cli/main.c — `mallet`: dispatch to a subcommand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const mallet_command_t commands[] = {
    {"list", mallet_cmd_list, "list backends with their capabilities and versions"},
    {"bench", mallet_cmd_bench, "run the benchmark suite (or one benchmark) across backends"},
    {"record", mallet_cmd_record, "record a program's malloc calls to a trace"},
    {"replay", mallet_cmd_replay, "replay a trace against backends"},
    {"compare", mallet_cmd_compare, "compare two result folders (ratios, regressions)"},
    {"stress", mallet_cmd_stress, "multithreaded stress, soak, lifecycle and fault tests"},
    {"security", mallet_cmd_security, "run the misuse matrix (double free, UAF, overflow...)"},
    {"fuzz", mallet_cmd_fuzz, "run, reproduce and minimize fuzzing campaigns"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: mallet <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'mallet <command> --help' describes a command's options.\n"
                 "Backends: nano scalable ptmalloc sys je mi tc (see 'mallet list').\n");
}

int mallet_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mallet %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'mallet %s --help'.\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    mallet_cli_run_child(argc, argv); /* returns unless argv[1] is the runner's child command */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mallet: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
