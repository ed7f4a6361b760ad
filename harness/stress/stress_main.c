/*
 * stress/stress_main.c — `mallet stress`: option parsing, one child
 * process per (backend, part), the summary and the exit status.
 *
 * Parts: mt (stress_mt.c), lifecycle (stress_life.c), faults
 * (stress_faults.c); --only picks some. A backend that is not built or
 * whose peer library is not installed is reported loudly as SKIP with the
 * reason, never silently left out. Exit status: 0 every run passed, 1 a run
 * failed or crashed, 2 bad usage, 77 every selected backend was skipped
 * (what ctest's SKIP_RETURN_CODE expects of stress-smoke-<id>).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/backend_select.h"
#include "common/results_dir.h"
#include "mallet/mallet.h"
#include "os/os.h"
#include "stress/stress.h"
#include "stress/stress_internal.h"

/* Sanitizer builds run every allocation and every byte check 5-20x slower:
 * their smoke runs do fewer operations (still all tiers and operations). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SMOKE_OPS 3000
#else
#define SMOKE_OPS 10000
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mallet stress [options]\n\n"
            "Multithreaded allocation stress, thread lifecycle and out-of-memory tests;\n"
            "each backend and each part runs in its own child process.\n\n"
            "  --backends LIST   all (default) | own | peers | IDs, comma-separated; no-ID removes one\n"
            "  --only PARTS      mt,lifecycle,faults (default: all three)\n"
            "  --threads N       worker threads (default 4)\n"
            "  --seconds S       time bound per part (default 10 unless --ops is given)\n"
            "  --ops N           operation bound per thread\n"
            "  --seed N          deterministic seed (default 1)\n"
            "  --smoke           short run: 10000 ops per thread (3000 in sanitizer builds), small churn, 3 forks\n"
            "  --soak            mt only, sample RSS every --interval seconds (default 60 s run)\n"
            "                    into <out>/soak_<id>.csv and flag RSS growth\n"
            "  --interval S      soak sampling interval (default 1)\n"
            "  --out DIR         soak CSV directory (default results/<date>_<host>_stress)\n"
            "  --timeout S       per-child limit; a hung child fails (default: bound + 120)\n"
            "  -v, --verbose     more output\n"
            "  --selftest-corrupt  (tests) flip a byte of a live block: the run must fail\n\n"
            "Exit status: 0 passed, 1 a run failed or crashed, 2 bad usage,\n"
            "77 every selected backend was skipped (not built / not installed).\n"
            "Allocation from signal handlers is out of scope (no backend promises it).\n");
}

void stress_config_defaults(stress_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 4;
    cfg->seed = 1;
    cfg->soak_interval = 1.0;
    cfg->mt = cfg->lifecycle = cfg->faults = true;
}

static int child_mt(const mallet_backend_t *b, const stress_config_t *cfg)
{
    stress_install_recorder(b->id);
    return stress_mt(b, cfg);
}

static int child_life(const mallet_backend_t *b, const stress_config_t *cfg)
{
    stress_install_recorder(b->id);
    return stress_lifecycle(b, cfg);
}

static int child_faults(const mallet_backend_t *b, const stress_config_t *cfg)
{
    stress_install_recorder(b->id);
    return stress_faults(b, cfg);
}

static const char *verdict(int rc)
{
    return rc == STRESS_OK ? "ok" : rc == STRESS_SKIPPED ? "skipped" : rc < 0 ? "-" : "FAILED";
}

typedef struct part_rc {
    int mt, life, faults;
} part_rc_t;

static int run_backend(const mallet_backend_t *b, const stress_config_t *cfg, part_rc_t *rc)
{
    *rc = (part_rc_t){-1, -1, -1};
    int worst = STRESS_OK;
    if (cfg->mt) {
        rc->mt = stress_in_child(cfg->soak ? "soak" : "mt", b, cfg, child_mt);
        worst = rc->mt == STRESS_FAILED ? STRESS_FAILED : worst;
    }
    if (cfg->lifecycle) {
        rc->life = stress_in_child("lifecycle", b, cfg, child_life);
        worst = rc->life == STRESS_FAILED ? STRESS_FAILED : worst;
    }
    if (cfg->faults) {
        rc->faults = stress_in_child("faults", b, cfg, child_faults);
        worst = rc->faults == STRESS_FAILED ? STRESS_FAILED : worst;
    }
    return worst;
}

int stress_run_backend(const mallet_backend_t *b, const stress_config_t *cfg)
{
    part_rc_t rc;
    return run_backend(b, cfg, &rc);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_secs(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !(v > 0) || v > 1e6)
        return -1;
    *out = v;
    return 0;
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "mallet stress: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return 2;
}

int stress_main(int argc, char **argv)
{
    stress_config_t cfg;
    stress_config_defaults(&cfg);
    const char *backends = "all", *only = NULL;
    uint64_t v;
    bool have_seconds = false, have_timeout = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--smoke")) {
            cfg.smoke = true;
        } else if (!strcmp(a, "--selftest-corrupt")) {
            cfg.selftest_corrupt = true;
        } else if (!strcmp(a, "--soak")) {
            cfg.soak = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cfg.verbose = true;
        } else if (!strcmp(a, "--backends")) {
            if (!val)
                return bad("%s needs a value", a);
            backends = argv[++i];
        } else if (!strcmp(a, "--only")) {
            if (!val)
                return bad("%s needs a value", a);
            only = argv[++i];
        } else if (!strcmp(a, "--out")) {
            if (!val)
                return bad("%s needs a value", a);
            cfg.out_dir = argv[++i];
        } else if (!strcmp(a, "--threads")) {
            if (parse_u64(val, 256, &v) || v == 0)
                return bad("--threads needs a number 1..256, got '%s'", val ? val : "");
            cfg.threads = (unsigned)v;
            i++;
        } else if (!strcmp(a, "--ops")) {
            if (parse_u64(val, UINT64_MAX, &v) || v == 0)
                return bad("--ops needs a positive number, got '%s'", val ? val : "");
            cfg.ops = v;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(val, UINT64_MAX, &v))
                return bad("--seed needs a number, got '%s'", val ? val : "");
            cfg.seed = v;
            i++;
        } else if (!strcmp(a, "--timeout")) {
            if (parse_u64(val, 86400, &v) || v == 0)
                return bad("--timeout needs seconds 1..86400, got '%s'", val ? val : "");
            cfg.timeout_s = (unsigned)v;
            have_timeout = true;
            i++;
        } else if (!strcmp(a, "--seconds")) {
            if (parse_secs(val, &cfg.seconds))
                return bad("--seconds needs a positive number, got '%s'", val ? val : "");
            have_seconds = true;
            i++;
        } else if (!strcmp(a, "--interval")) {
            if (parse_secs(val, &cfg.soak_interval))
                return bad("--interval needs a positive number, got '%s'", val ? val : "");
            i++;
        } else {
            return bad("unknown option '%s'", a);
        }
    }
    if (only) {
        cfg.mt = cfg.lifecycle = cfg.faults = false;
        char copy[256], *save = NULL;
        snprintf(copy, sizeof copy, "%s", only);
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "mt"))
                cfg.mt = true;
            else if (!strcmp(t, "lifecycle"))
                cfg.lifecycle = true;
            else if (!strcmp(t, "faults"))
                cfg.faults = true;
            else
                return bad("--only: unknown part '%s' (mt, lifecycle, faults)", t);
        }
    }
    if (cfg.soak) {
        if (cfg.smoke)
            return bad("%s", "--soak and --smoke do not mix");
        cfg.mt = true;
        cfg.lifecycle = cfg.faults = false;
        if (!have_seconds && !cfg.ops)
            cfg.seconds = 60;
    } else if (cfg.smoke) {
        if (!cfg.ops && !have_seconds)
            cfg.ops = SMOKE_OPS;
    } else if (!cfg.ops && !have_seconds) {
        cfg.seconds = 10;
    }
    if (!have_timeout)
        cfg.timeout_s = (unsigned)(cfg.seconds * (cfg.soak ? 1 : 2)) + 120 + (cfg.ops ? 180 : 0);
    mallet_backend_selection_t sel;
    char err[512];
    if (mallet_backend_select(backends, &sel, err, sizeof err) != 0)
        return bad("%s", err);

    char outdir[4096] = "";
    if (cfg.soak) {
        if (cfg.out_dir) {
            snprintf(outdir, sizeof outdir, "%s", cfg.out_dir);
        } else {
            mallet_results_dir_name(outdir, sizeof outdir, "results", time(NULL), "stress");
        }
        if (mallet_make_dirs(outdir) != 0) {
            fprintf(stderr, "mallet stress: cannot create %s: %s\n", outdir, strerror(errno));
            return 1;
        }
        cfg.out_dir = outdir;
        printf("soak CSV files: %s/soak_<backend>.csv\n", outdir);
    }

    part_rc_t res[MALLET_MAX_BACKENDS];
    char why[MALLET_MAX_BACKENDS][256];
    size_t ran = 0, failed = 0;
    for (size_t i = 0; i < sel.n; i++) {
        const mallet_backend_t *b;
        if (stress_backend_usable(sel.id[i], &b, why[i], sizeof why[i]) != 0) {
            printf("SKIP %s: %s\n", sel.id[i], why[i]);
            fprintf(stderr, "mallet stress: SKIP %s: %s\n", sel.id[i], why[i]);
            res[i] = (part_rc_t){STRESS_SKIPPED, STRESS_SKIPPED, STRESS_SKIPPED};
            continue;
        }
        why[i][0] = '\0';
        ran++;
        if (run_backend(b, &cfg, &res[i]) != STRESS_OK)
            failed++;
    }
    printf("\n%-10s %-8s %-10s %-8s\n", "backend", cfg.soak ? "soak" : "mt", "lifecycle", "faults");
    for (size_t i = 0; i < sel.n; i++) {
        printf("%-10s %-8s %-10s %-8s%s%s\n", sel.id[i], verdict(res[i].mt), verdict(res[i].life),
               verdict(res[i].faults), why[i][0] ? "  " : "", why[i]);
    }
    printf("%zu backends run, %zu failed, %zu skipped\n", ran, failed, sel.n - ran);
    if (cfg.soak)
        stress_soak_plot(outdir); /* a missing plot is said, not fatal */
    if (failed)
        return 1;
    return ran == 0 ? 77 : 0;
}
