/*
 * cli/cmd_replay.c — `mallet replay TRACE [options]`: replay a recorded
 * trace against backends, each run in its own process, and write the same
 * result folder as `mallet bench` (time, RSS, fragmentation, latencies).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/runner.h"
#include "build_commit.h" /* generated: MALLET_BUILD_COMMIT */
#include "cli/commands.h"
#include "common/backend_select.h"
#include "common/results_dir.h"
#include "os/os.h"
#include "report/report.h"
#include "trace/trace_replay.h"


static void usage(FILE *out)
{
    fprintf(out, "usage: mallet replay TRACE [--backends LIST] [--repeats N] [--out DIR] [--timeout S]\n"
                 "                    [--isolation exec|fork]\n"
                 "  Replays a trace from 'mallet record' (or MALLET_TRACE) against each backend.\n"
                 "  --backends LIST  all (default), own, peers, or IDs (comma-separated)\n"
                 "  --repeats N      runs per backend (default 3)\n"
                 "  --out DIR        result folder (default results/<date>_<host>_replay-<trace>)\n"
                 "  --isolation M    exec (default: each run a fresh image that opens the trace\n"
                 "                   itself) or fork (see 'mallet bench --help')\n");
}

int mallet_cmd_replay(int argc, char **argv)
{
    const char *path = NULL, *backends = "all", *out = NULL;
    unsigned long repeats = 3, timeout = 300;
    const char *iso_why = NULL;
    mallet_isolation_t isolation = mallet_isolation_default(&iso_why);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--backends") == 0 && i + 1 < argc) {
            backends = argv[++i];
        } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(a, "--isolation") == 0 && i + 1 < argc) {
            iso_why = NULL;
            if (!mallet_isolation_parse(argv[++i], &isolation))
                return mallet_usage_error("replay", "--isolation must be exec or fork, got '%s'", argv[i]);
        } else if ((strcmp(a, "--repeats") == 0 || strcmp(a, "--timeout") == 0) && i + 1 < argc) {
            char *end;
            const char *v = argv[++i];
            unsigned long x = strtoul(v, &end, 10);
            if (*v == '-' || *end || x == 0 || x > 86400)
                return mallet_usage_error("replay", "%s needs a positive number, got '%s'", a, v);
            if (a[2] == 'r')
                repeats = x;
            else
                timeout = x;
        } else if (a[0] == '-') {
            return mallet_usage_error("replay", "unknown option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return mallet_usage_error("replay", "one trace at a time ('%s' and '%s')", path, a);
        }
    }
    if (!path)
        return mallet_usage_error("replay", "no trace file given");
    mallet_backend_selection_t sel;
    char selerr[512];
    if (mallet_backend_select(backends, &sel, selerr, sizeof selerr) != 0)
        return mallet_usage_error("replay", "%s", selerr);
    const char *ids[MALLET_MAX_BACKENDS];
    size_t nids = sel.n;
    for (size_t k = 0; k < nids; k++)
        ids[k] = sel.id[k];

    mallet_trace_t t;
    char err[512];
    if (mallet_trace_open(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "mallet replay: %s\n", err);
        return 2;
    }
    char pathcopy[4096], name[32];
    snprintf(pathcopy, sizeof pathcopy, "%s", path);
    snprintf(name, sizeof name, "replay-%.24s", basename(pathcopy));
    mallet_replay_set_trace(&t, name);

    char dir[4096];
    time_t now = time(NULL);
    if (out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else {
        mallet_results_dir_name(dir, sizeof dir, "results", now, name);
    }
    if (mallet_make_dirs(dir) != 0) {
        fprintf(stderr, "mallet replay: cannot create '%s': %s\n", dir, strerror(errno));
        mallet_trace_close(&t);
        return 1;
    }
    if (iso_why)
        fprintf(stderr, "mallet replay: !!! %s (each run shares this process's history)\n", iso_why);
    fprintf(stderr, "mallet replay: %s: %zu calls, %u recorded threads (replayed in order on one thread)\n",
            path, t.n, t.threads);
    mallet_run_config_t cfg = {.threads = 1, .seed = 1, .scale = 1, .timeout_s = (unsigned)timeout,
                               .trace_path = path, .isolation = isolation};
    size_t total = nids * repeats, done = 0;
    mallet_run_result_t *res = calloc(total, sizeof *res);
    uint64_t t0 = mallet_os_now_ns();
    for (unsigned r = 0; r < repeats; r++)
        for (size_t k = 0; k < nids; k++) {
            const char *id = ids[(k + r) % nids];
            mallet_run_one(&mallet_bench_replay, id, r + 1, &cfg, &res[done]);
            fprintf(stderr, "[%zu/%zu] %-8s #%u %-8s %.3fs %s\n", done + 1, total, id, r + 1,
                    mallet_run_status_name(res[done].status), res[done].wall_s, res[done].note);
            done++;
        }
    const char *benches[1] = {name};
    char started[32], idlist[128] = "";
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    for (size_t k = 0; k < nids; k++)
        snprintf(idlist + strlen(idlist), sizeof idlist - strlen(idlist), "%s%s", k ? "," : "", ids[k]);
    mallet_report_meta_t meta = {.command_line = path, .backends = idlist, .benchmarks = name, .threads = 1,
                                 .repeats = (unsigned)repeats, .seed = 0, .scale = 1,
                                 .overhead_ns = mallet_run_calibrate_overhead_ns(), .commit = MALLET_BUILD_COMMIT,
                                 .started = started,
                                 .duration_s = (double)(mallet_os_now_ns() - t0) / 1e9,
                                 .isolation = isolation};
    int werr = mallet_report_write_runs(dir, res, total) | mallet_report_write_meta(dir, &meta) |
               mallet_report_write_summary(dir, res, total, ids, nids, benches, 1, stdout);
    mallet_report_plot(dir, res, total, ids, nids, benches, 1);
    size_t bad = 0;
    for (size_t i = 0; i < total; i++)
        bad += res[i].status != RUN_OK && res[i].status != RUN_MISSING;
    printf("\nResults: %s/summary.md\n", dir);
    free(res);
    mallet_trace_close(&t);
    return werr ? 1 : bad ? 1 : 0;
}
