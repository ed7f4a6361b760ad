/*
 * cli/cmd_fuzz.c — `mallet fuzz TARGET [--engine libfuzzer|afl]
 * [--seconds N] [--jobs N] [--reproduce FILE] [--minimize FILE] [--build]`.
 *
 * The fuzzing workflow lives in fuzz/run.sh (it drives the libFuzzer and
 * AFL++ binaries under build/fuzz and build/fuzz-afl, building them when
 * missing); this command checks the target name and execs that script
 * from the source tree this program was built from (MALLET_SOURCE_DIR).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"

static const char *const targets[] = {"ops", "misuse", "diff", "options", "trace", "sizespec", NULL};

static void usage(FILE *f)
{
    fprintf(f, "usage: mallet fuzz TARGET [--engine libfuzzer|afl] [--seconds N] [--jobs N]\n"
               "                   [--reproduce FILE] [--minimize FILE] [--build]\n"
               "targets:");
    for (int i = 0; targets[i]; i++)
        fprintf(f, " %s", targets[i]);
    fprintf(f, "\nSeeds: corpora/TARGET/; findings: build/fuzz-work/TARGET/ (see fuzz/README.md).\n");
}

int mallet_cmd_fuzz(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool known = false;
    for (int i = 0; targets[i]; i++)
        known |= strcmp(argv[1], targets[i]) == 0;
    if (!known && strcmp(argv[1], "misuse_toy") != 0) {
        fprintf(stderr, "mallet fuzz: unknown target '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    static char script[4096];
    snprintf(script, sizeof script, "%s/fuzz/run.sh", MALLET_SOURCE_DIR);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "mallet fuzz: %s not found (the source tree this mallet was built from)\n", script);
        return 2;
    }
    char *args[64];
    int n = 0;
    args[n++] = (char *)"bash";
    args[n++] = script;
    for (int i = 1; i < argc && n < 63; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    fflush(NULL);
    execvp("bash", args);
    perror("mallet fuzz: cannot run bash");
    return 2;
}
