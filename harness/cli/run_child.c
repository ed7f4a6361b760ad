/*
 * cli/run_child.c — the hidden `mallet __bench-child` command: the fresh
 * image a benchmark run executes in (bench/runner.h, "Isolation"). Here
 * because only the program knows every benchmark, the replay one included.
 */
#include <stdio.h>
#include <string.h>

#include "bench/runner.h"
#include "cli/commands.h"
#include "trace/trace_replay.h"

static const mallet_bench_t *resolve(const char *name, const mallet_run_config_t *cfg, char *err,
                                     size_t errlen)
{
    if (cfg->trace_path == NULL) {
        const mallet_bench_t *b = mallet_bench_find(name);
        if (b == NULL)
            snprintf(err, errlen, "no such benchmark");
        return b;
    }
    /* A replay: the child opens (and validates) the trace itself. */
    static mallet_trace_t trace;
    if (mallet_trace_open(cfg->trace_path, &trace, err, errlen) != 0)
        return NULL;
    mallet_replay_set_trace(&trace, name);
    return &mallet_bench_replay;
}

void mallet_cli_run_child(int argc, char **argv)
{
    mallet_run_child_main(argc, argv, resolve);
}
