/*
 * cli/cmd_bench.c — `mallet bench`: run the suite (or some benchmarks)
 * across backends, each run in its own process, repeats interleaved
 * across backends against drift, and write the result folder
 * (report/report.h). `--hyperfine -- CMD...` instead compares any command
 * across backends through libmallet.so with hyperfine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "build_commit.h" /* generated: MALLET_BUILD_COMMIT */
#include "bench/runner.h"
#include "cli/commands.h"
#include "common/backend_select.h"
#include "common/results_dir.h"
#include "os/os.h"
#include "report/report.h"
#include "workload/size_dist.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mallet bench [options]\n"
            "       mallet bench --hyperfine [options] -- COMMAND [ARGS...]\n\n"
            "Runs the benchmark suite across backends; each run is a separate process.\n\n"
            "  --backends LIST   all (default) | own | peers | IDs, comma-separated;\n"
            "                    no-ID removes one (e.g. all,no-tc); floor (single-threaded\n"
            "                    per-class free lists, the no-work line) runs only when named\n"
            "                    ID:OPT=V[:OPT=V] runs that backend with its own zone options,\n"
            "                    reported under that label (sys,ptmalloc,ptmalloc:harden=1)\n"
            "  --bench LIST      benchmark names, comma-separated (default: the whole suite)\n"
            "  --threads N       threads for multithreaded benchmarks (default: CPUs, at least 2)\n"
            "  --repeats N       runs per (benchmark, backend) (default 3; 1 with --smoke)\n"
            "  --seed N          workload seed (default 1)\n"
            "  --scale X         work multiplier (default 1.0)\n"
            "  --smoke           tiny scale: everything in well under a minute\n"
            "  --sizes SPEC      size distribution for the generator benchmarks (see below)\n"
            "  --settle MS       pause between runs, letting the machine settle (default 0)\n"
            "  --main-thread     run one-thread benchmarks on the run's main thread, so the\n"
            "                    process stays single-threaded (default: a worker thread)\n"
            "  --timeout S       per-run limit in seconds (default 300)\n"
            "  --isolation MODE  exec (default): each run re-executes mallet, a fresh process\n"
            "                    image, and peak RSS is that image's own; fork: the run is a\n"
            "                    plain fork of this process (for valgrind without\n"
            "                    --trace-children=yes; its RSS includes mallet's own pages)\n"
            "  --zone-options S  options for each backend's zone, e.g. MallocNanoZone=V1; a backend\n"
            "                    that does not take them fails its runs saying so (pick --backends)\n"
            "  --out DIR         write results to DIR\n"
            "  --out-root DIR    write results to DIR/<date>_<host>_<commit> (default: results)\n"
            "  --list            list benchmarks and size profiles, then exit\n"
            "  --hyperfine       run COMMAND under each backend with hyperfine\n\n"
            "Size specs: const:N uniform:LO-HI pow2:LO-HI geometric:MEAN[,MAX]\n"
            "  lognormal:MEDIAN,SIGMA[,MAX] pareto:MIN,ALPHA[,MAX] mix:W*SPEC+W*SPEC\n"
            "  hist:FILE trace:FILE profile:NAME\n"
            "Exit status: 0 all runs completed, 1 a run failed/crashed/timed out, 2 bad usage.\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

static int select_benches(const char *spec, const char **out, size_t *n)
{
    *n = 0;
    if (spec == NULL) {
        for (const mallet_bench_t *const *b = mallet_benchmarks; *b; b++)
            if (mallet_bench_in_default_suite(*b))
                out[(*n)++] = (*b)->name;
        return 0;
    }
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const mallet_bench_t *b = mallet_bench_find(tok);
        if (!b) {
            int rc = mallet_usage_error("bench", "unknown benchmark '%s' (see 'mallet bench --list')", tok);
            free(copy);
            return rc;
        }
        out[(*n)++] = b->name;
    }
    free(copy);
    return *n ? 0 : mallet_usage_error("bench", "--bench '%s' selects no benchmark", spec);
}

static void list_all(void)
{
    printf("benchmarks (default suite):\n");
    for (const mallet_bench_t *const *b = mallet_benchmarks; *b; b++)
        printf("  %-15s %s%s\n", (*b)->name, (*b)->multithreaded ? "[threads] " : "", (*b)->description);
    printf("\nsize profiles (--sizes profile:NAME):\n");
    for (const mallet_size_profile_t *p = mallet_size_profiles; p->name; p++)
        printf("  %-12s %s\n               %s\n", p->name, p->description, p->spec);
}

/* Short commit the binary was built from, "-dirty" if tracked files had
 * local changes then (cmake/build_commit.cmake). Not the tree's commit at
 * run time: a binary kept from an older build must not be credited to
 * whatever is checked out when it runs. */
static void source_commit(char *out, size_t len)
{
    snprintf(out, len, "%s", MALLET_BUILD_COMMIT);
}

static void progress(bool tty, size_t done, size_t total, double elapsed, const mallet_run_result_t *r)
{
    double eta = done ? elapsed / (double)done * (double)(total - done) : 0;
    if (tty) {
        int width = 30, fill = (int)(width * done / (total ? total : 1));
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu  ETA %3.0fs  %-14s %-8s %-8s", fill,
                "##############################", width - fill, "", done, total, eta, r->benchmark,
                r->backend, mallet_run_status_name(r->status));
        if (done == total)
            fprintf(stderr, "\n");
    } else {
        fprintf(stderr, "[%zu/%zu] %-14s %-8s #%u %-8s %.3fs %s\n", done, total, r->benchmark, r->backend,
                r->repeat, mallet_run_status_name(r->status), r->wall_s, r->note);
    }
    if (tty && r->status != RUN_OK && r->status != RUN_MISSING)
        fprintf(stderr, "\n  !!! %s on %s: %s: %s\n", r->benchmark, r->backend,
                mallet_run_status_name(r->status), r->note);
}

static int run_hyperfine(int argc, char **argv, const char **be, size_t nbe, unsigned repeats,
                         const char *outdir);

int mallet_cmd_bench(int argc, char **argv)
{
    const char *backends_spec = "all", *bench_spec = NULL, *out = NULL, *out_root = "results";
    const char *sizes = NULL, *zone_options = NULL;
    unsigned long threads = 0, repeats = 0, seed = 1, timeout = 300, settle = 0;
    double scale = 1.0;
    bool smoke = false, hyperfine = false, main_thread = false;
    const char *iso_why = NULL;
    mallet_isolation_t isolation = mallet_isolation_default(&iso_why);
    int cmd_start = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                           \
    do {                                                                                       \
        if (v == NULL)                                                                         \
            return mallet_usage_error("bench", "%s needs a value", a);                         \
        i++;                                                                                   \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--list") == 0) {
            list_all();
            return 0;
        } else if (strcmp(a, "--main-thread") == 0) {
            main_thread = true;
        } else if (strcmp(a, "--smoke") == 0) {
            smoke = true;
        } else if (strcmp(a, "--hyperfine") == 0) {
            hyperfine = true;
        } else if (strcmp(a, "--") == 0) {
            cmd_start = i + 1;
            break;
        } else if (strcmp(a, "--backends") == 0) {
            NEED_VALUE();
            backends_spec = v;
        } else if (strcmp(a, "--bench") == 0) {
            NEED_VALUE();
            bench_spec = v;
        } else if (strcmp(a, "--out") == 0) {
            NEED_VALUE();
            out = v;
        } else if (strcmp(a, "--out-root") == 0) {
            NEED_VALUE();
            out_root = v;
        } else if (strcmp(a, "--zone-options") == 0) {
            NEED_VALUE();
            zone_options = v;
        } else if (strcmp(a, "--sizes") == 0) {
            NEED_VALUE();
            char err[256];
            mallet_size_dist_t *d = mallet_size_dist_parse(v, err, sizeof err);
            if (!d)
                return mallet_usage_error("bench", "--sizes: %s", err);
            mallet_size_dist_free(d);
            sizes = v;
        } else if (strcmp(a, "--threads") == 0) {
            NEED_VALUE();
            if (parse_uint(v, MALLET_BENCH_MAX_THREADS, &threads) || threads == 0)
                return mallet_usage_error("bench", "--threads must be 1..%d, got '%s'", MALLET_BENCH_MAX_THREADS, v);
        } else if (strcmp(a, "--repeats") == 0) {
            NEED_VALUE();
            if (parse_uint(v, 100, &repeats) || repeats == 0)
                return mallet_usage_error("bench", "--repeats must be 1..100, got '%s'", v);
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VALUE();
            if (parse_uint(v, ULONG_MAX, &seed))
                return mallet_usage_error("bench", "--seed must be a non-negative integer, got '%s'", v);
        } else if (strcmp(a, "--timeout") == 0) {
            NEED_VALUE();
            if (parse_uint(v, 86400, &timeout) || timeout == 0)
                return mallet_usage_error("bench", "--timeout must be 1..86400 seconds, got '%s'", v);
        } else if (strcmp(a, "--isolation") == 0) {
            NEED_VALUE();
            iso_why = NULL;
            if (!mallet_isolation_parse(v, &isolation))
                return mallet_usage_error("bench", "--isolation must be exec or fork, got '%s'", v);
        } else if (strcmp(a, "--settle") == 0) {
            NEED_VALUE();
            if (parse_uint(v, 60000, &settle))
                return mallet_usage_error("bench", "--settle must be 0..60000 ms, got '%s'", v);
        } else if (strcmp(a, "--scale") == 0) {
            NEED_VALUE();
            char *end;
            scale = strtod(v, &end);
            if (*end || !(scale > 0) || scale > 100)
                return mallet_usage_error("bench", "--scale must be in (0, 100], got '%s'", v);
        } else {
            return mallet_usage_error("bench", "unknown option '%s'", a);
        }
#undef NEED_VALUE
    }
    /* "floor" (bench_floor.c) is no registry backend and in no group: it
     * runs only when named, after the others. The rest of the list goes to
     * the common selector. */
    bool want_floor = false;
    char rest[512] = "";
    /* Entries with their own zone options ("ptmalloc:harden=1") run after
     * the selection, each under its full text as its label. */
    static char own[MALLET_MAX_BACKENDS][48];
    size_t nown = 0;
    {
        char copy[512], *save = NULL;
        snprintf(copy, sizeof copy, "%s", backends_spec);
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (strchr(tok, ':') != NULL) {
                char id[48], opts[512];
                if (strlen(tok) >= sizeof own[0] || !mallet_run_split_backend(tok, id, sizeof id, opts, sizeof opts))
                    return mallet_usage_error("bench", "backend entry '%s' is too long (at most %zu characters)",
                                              tok, sizeof own[0] - 1);
                if (strcmp(id, "floor") == 0 || mallet_bench_backend_find(id) == NULL)
                    return mallet_usage_error("bench", "unknown backend '%s' in '%s'", id, tok);
                if (nown == MALLET_MAX_BACKENDS)
                    return mallet_usage_error("bench", "too many backend entries with options");
                snprintf(own[nown++], sizeof own[0], "%s", tok);
            } else if (strcmp(tok, "floor") == 0 || strcmp(tok, "no-floor") == 0) {
                want_floor = tok[0] == 'f';
            } else {
                snprintf(rest + strlen(rest), sizeof rest - strlen(rest), "%s%s", rest[0] ? "," : "", tok);
            }
        }
    }
    mallet_backend_selection_t sel = {.n = 0};
    char err[512];
    if ((rest[0] || (!want_floor && nown == 0)) && mallet_backend_select(rest, &sel, err, sizeof err) != 0)
        return mallet_usage_error("bench", "%s", err);
    const char *be[2 * MALLET_MAX_BACKENDS + 1];
    size_t nbe = sel.n;
    for (size_t i = 0; i < nbe; i++)
        be[i] = sel.id[i];
    for (size_t i = 0; i < nown; i++)
        be[nbe++] = own[i];
    if (want_floor)
        be[nbe++] = "floor";
    int rc;
    if (smoke) {
        scale = scale == 1.0 ? 0.02 : scale;
        repeats = repeats ? repeats : 1;
    }
    if (!repeats)
        repeats = 3;
    if (!threads) {
        threads = mallet_os_cpu_count();
        if (threads < 2)
            threads = 2;
        if (threads > MALLET_BENCH_MAX_THREADS)
            threads = MALLET_BENCH_MAX_THREADS;
    }

    const char *benches[64];
    size_t nbench = 0;
    if (!hyperfine && (rc = select_benches(bench_spec, benches, &nbench)) != 0)
        return rc;

    /* Result folder: results/<date>_<host>_<commit>. */
    char commit[80], dir[4096], started[32];
    source_commit(commit, sizeof commit);
    time_t now = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else {
        char tag[128];
        snprintf(tag, sizeof tag, "%s%s", commit, smoke ? "_smoke" : "");
        mallet_results_dir_name(dir, sizeof dir, out_root, now, tag);
    }
    if (mallet_make_dirs(dir) != 0) {
        fprintf(stderr, "mallet bench: cannot create '%s': %s\n", dir, strerror(errno));
        return 1;
    }

    if (hyperfine) {
        if (nown > 0)
            return mallet_usage_error("bench", "--hyperfine takes no per-backend zone options ('%s')", own[0]);
        if (cmd_start < 0 || cmd_start >= argc)
            return mallet_usage_error("bench", "--hyperfine needs a command after --");
        return run_hyperfine(argc - cmd_start, argv + cmd_start, be, nbe, (unsigned)repeats, dir);
    }
    if (cmd_start >= 0)
        return mallet_usage_error("bench", "a command after -- needs --hyperfine");


    if (iso_why)
        fprintf(stderr, "mallet bench: !!! %s (each run shares this process's history)\n", iso_why);
    /* Loud about every backend that will not run. */
    for (size_t j = 0; j < nbe; j++) {
        char id[48], opts[512];
        mallet_run_split_backend(be[j], id, sizeof id, opts, sizeof opts);
        const mallet_backend_t *b = mallet_bench_backend_find(id);
        char why[256] = "";
        if (b == NULL)
            fprintf(stderr, "mallet bench: !!! backend %s is NOT BUILT into this mallet: its runs are "
                            "reported as missing\n", be[j]);
        else if (b->available(why, sizeof why) != 0)
            fprintf(stderr, "mallet bench: !!! backend %s is NOT AVAILABLE (%s): its runs are reported "
                            "as missing\n", be[j], why);
    }

    mallet_run_config_t cfg = {.threads = (unsigned)threads, .seed = seed, .scale = scale,
                               .timeout_s = (unsigned)timeout, .size_spec = sizes,
                               .main_thread = main_thread,
                               .zone_options = zone_options, .isolation = isolation};
    size_t total = nbench * nbe * repeats, done = 0;
    mallet_run_result_t *res = calloc(total, sizeof *res);
    bool tty = isatty(2);
    double overhead = mallet_run_calibrate_overhead_ns();
    fprintf(stderr, "mallet bench: %zu benchmarks x %zu backends x %lu repeats, %lu threads, scale %g -> %s\n",
            nbench, nbe, repeats, threads, scale, dir);
    uint64_t t0 = mallet_os_now_ns();
    for (size_t i = 0; i < nbench; i++) {
        const mallet_bench_t *b = mallet_bench_find(benches[i]);
        for (unsigned r = 0; r < repeats; r++)
            for (size_t k = 0; k < nbe; k++) {
                /* rotate the order each repeat: A B C, B C A, C A B */
                const char *id = be[(k + r) % nbe];
                mallet_run_one(b, id, r + 1, &cfg, &res[done]);
                done++;
                progress(tty, done, total, (double)(mallet_os_now_ns() - t0) / 1e9, &res[done - 1]);
                if (settle)
                    mallet_os_sleep_ms((unsigned)settle);
            }
    }
    double duration = (double)(mallet_os_now_ns() - t0) / 1e9;

    char cmdline[2048] = "mallet";
    for (int i = 0; i < argc; i++) {
        strncat(cmdline, " ", sizeof cmdline - strlen(cmdline) - 1);
        strncat(cmdline, argv[i], sizeof cmdline - strlen(cmdline) - 1);
    }
    char be_list[256] = "", bench_list[1024] = "";
    for (size_t j = 0; j < nbe; j++)
        snprintf(be_list + strlen(be_list), sizeof be_list - strlen(be_list), "%s%s", j ? "," : "", be[j]);
    for (size_t i = 0; i < nbench; i++)
        snprintf(bench_list + strlen(bench_list), sizeof bench_list - strlen(bench_list), "%s%s", i ? "," : "",
                 benches[i]);
    mallet_report_meta_t meta = {.command_line = cmdline, .backends = be_list, .benchmarks = bench_list,
                                 .threads = (unsigned)threads, .repeats = (unsigned)repeats, .seed = seed,
                                 .scale = scale, .overhead_ns = overhead, .commit = commit,
                                 .started = started, .duration_s = duration, .isolation = isolation};
    int werr = mallet_report_write_runs(dir, res, total);
    werr |= mallet_report_write_meta(dir, &meta);
    werr |= mallet_report_write_summary(dir, res, total, be, nbe, benches, nbench, stdout);
    int plot_rc = mallet_report_plot(dir, res, total, be, nbe, benches, nbench);
    size_t bad = 0, missing = 0;
    for (size_t i = 0; i < total; i++) {
        bad += res[i].status != RUN_OK && res[i].status != RUN_MISSING;
        missing += res[i].status == RUN_MISSING;
    }
    free(res);
    printf("\nResults: %s/summary.md (runs.csv, runs.json, meta.json)\n", dir);
    if (plot_rc == 0)
        printf("Plots:   %s/plots/time_ratio.svg, rss_ratio.svg, latency_p99.svg, latency_cdf.svg (and .png)\n", dir);
    if (missing)
        printf("!!! %zu runs MISSING: backends not built or not installed (see above and summary.md)\n",
               missing);
    if (bad)
        printf("!!! %zu runs did not complete (failed, crashed or timed out): see summary.md\n", bad);
    if (werr) {
        fprintf(stderr, "mallet bench: writing results to %s failed\n", dir);
        return 1;
    }
    return bad ? 1 : 0;
}

/* hyperfine over the drop-in: one command per backend, JSON and Markdown
 * exports kept in the result folder. */
static int run_hyperfine(int argc, char **argv, const char **be, size_t nbe, unsigned repeats,
                         const char *outdir)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    char lib[4200];
    snprintf(lib, sizeof lib, "%s/libmallet.so", exe);
    if (access(lib, R_OK) != 0) {
        fprintf(stderr, "mallet bench: %s not found: build with -DMALLET_BUILD_PRELOAD=ON\n", lib);
        return 1;
    }
    if (system("command -v hyperfine >/dev/null 2>&1") != 0) {
        fprintf(stderr, "mallet bench: hyperfine is not installed (apt-get install hyperfine)\n");
        return 1;
    }
    char command[8192] = "";
    for (int i = 0; i < argc; i++) {
        char *q = NULL;
        /* single-quote each word for the shell hyperfine uses */
        size_t len = strlen(argv[i]);
        q = malloc(len * 4 + 3);
        char *w = q;
        *w++ = '\'';
        for (const char *s = argv[i]; *s; s++) {
            if (*s == '\'') {
                memcpy(w, "'\\''", 4);
                w += 4;
            } else {
                *w++ = *s;
            }
        }
        *w++ = '\'';
        *w = '\0';
        snprintf(command + strlen(command), sizeof command - strlen(command), "%s%s", i ? " " : "", q);
        free(q);
    }
    char list[256] = "";
    for (size_t j = 0; j < nbe; j++) {
        const mallet_backend_t *b = mallet_bench_backend_find(be[j]);
        char why[256];
        if (b == NULL || b->available(why, sizeof why) != 0 || !(b->caps & MALLET_CAP_PRELOAD)) {
            fprintf(stderr, "mallet bench: !!! backend %s cannot run here (not built, not installed or no "
                            "drop-in): left out of the hyperfine comparison\n", be[j]);
            continue;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? "," : "", be[j]);
    }
    if (!list[0]) {
        fprintf(stderr, "mallet bench: no backend left to compare\n");
        return 1;
    }
    char runs[16], json[4200], md[4200], shell_cmd[12800];
    snprintf(runs, sizeof runs, "%u", repeats < 3 ? 3 : repeats);
    snprintf(json, sizeof json, "%s/hyperfine.json", outdir);
    snprintf(md, sizeof md, "%s/hyperfine.md", outdir);
    snprintf(shell_cmd, sizeof shell_cmd, "env MALLET_BACKEND={backend} LD_PRELOAD='%s' %s", lib, command);
    char *hargv[] = {"hyperfine", "--style", "basic", "--warmup", "1", "--runs", runs, "-L", "backend", list,
                     "--export-json", json, "--export-markdown", md,
                     "--command-name", "MALLET_BACKEND={backend}", shell_cmd, NULL};
    fprintf(stderr, "mallet bench: hyperfine over %s: %s\n", list, shell_cmd);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execvp("hyperfine", hargv);
        _exit(127);
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int rc = pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    printf("Results: %s/hyperfine.md, %s/hyperfine.json\n", outdir, outdir);
    return rc == 0 ? 0 : 1;
}
