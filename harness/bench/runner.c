/*
 * bench/runner.c — process isolation and measurement for one benchmark run.
 */
#define _GNU_SOURCE
#include "bench/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/vm_counter.h"
#include "os/os.h"

const char *mallet_run_status_name(mallet_run_status_t s)
{
    switch (s) {
    case RUN_OK: return "ok";
    case RUN_FAILED: return "failed";
    case RUN_CRASHED: return "crashed";
    case RUN_TIMEOUT: return "timeout";
    case RUN_MISSING: return "missing";
    }
    return "?";
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

bool mallet_run_split_backend(const char *entry, char *id, size_t idlen, char *opts, size_t optlen)
{
    const char *colon = strchr(entry, ':');
    size_t n = colon ? (size_t)(colon - entry) : strlen(entry);
    if (idlen == 0 || optlen == 0)
        return false;
    id[0] = opts[0] = '\0';
    if (n >= idlen)
        return false;
    memcpy(id, entry, n);
    id[n] = '\0';
    if (colon == NULL)
        return false;
    size_t used = 0;
    for (const char *s = colon + 1; *s;) {
        size_t len = strcspn(s, ":");
        size_t klen = strcspn(s, ":=.");
        bool bare = len > 0 && klen == strcspn(s, ":=") && s[0] >= 'a' && s[0] <= 'z';
        int w = snprintf(opts + used, optlen - used, "%s%s%s%.*s", used ? ":" : "", bare ? id : "",
                         bare ? "." : "", (int)len, s);
        if (w < 0 || (size_t)w >= optlen - used) {
            id[0] = opts[0] = '\0';
            return false;
        }
        used += (size_t)w;
        s += len;
        if (*s)
            s++;
    }
    return true;
}

const char *mallet_isolation_name(mallet_isolation_t i)
{
    return i == MALLET_ISOLATE_FORK ? "fork" : "exec";
}

mallet_isolation_t mallet_isolation_default(const char **why)
{
    const char *pre = getenv("LD_PRELOAD");
    *why = NULL;
    if (pre && strstr(pre, "vgpreload")) { /* valgrind preloads its vgpreload_<tool> objects */
        *why = "running under valgrind, whose tools do not follow the exec'd runs: --isolation fork";
        return MALLET_ISOLATE_FORK;
    }
    return MALLET_ISOLATE_EXEC;
}

bool mallet_isolation_parse(const char *s, mallet_isolation_t *out)
{
    if (strcmp(s, "exec") == 0)
        *out = MALLET_ISOLATE_EXEC;
    else if (strcmp(s, "fork") == 0)
        *out = MALLET_ISOLATE_FORK;
    else
        return false;
    return true;
}

/* In the child: everything measurable from inside. `fresh_image`: the
 * child was exec'd, so its VmHWM is the run's own peak RSS. */
static void child(const mallet_bench_t *b, const char *entry, const mallet_run_config_t *cfg,
                  mallet_run_result_t *r, int fd, bool fresh_image)
{
    char id[48], own_options[512];
    const char *zone_options = cfg->zone_options;
    if (mallet_run_split_backend(entry, id, sizeof id, own_options, sizeof own_options))
        zone_options = own_options;
    const mallet_backend_t *be = mallet_bench_backend_find(id);
    char why[256] = "";
    if (be == NULL || be->available(why, sizeof why) != 0) {
        r->status = RUN_MISSING;
        snprintf(r->note, sizeof r->note, "%s", be ? why : "not built into this mallet");
        write_all(fd, r, sizeof *r);
        _exit(0);
    }
    if (b->multithreaded && cfg->threads > 1 && !(be->caps & MALLET_CAP_THREAD_SAFE)) {
        r->status = RUN_MISSING; /* the floor: a lock-free nothing, one thread only */
        snprintf(r->note, sizeof r->note, "%s is not thread-safe", id);
        write_all(fd, r, sizeof *r);
        _exit(0);
    }
    char err[256] = "";
    mallet_zone_t *zone = (zone_options && *zone_options)
                              ? be->create_zone(zone_options, err, sizeof err)
                              : be->default_zone();
    if (zone == NULL) {
        r->status = RUN_FAILED;
        snprintf(r->note, sizeof r->note, "cannot create zone: %s", err[0] ? err : strerror(errno));
        write_all(fd, r, sizeof *r);
        _exit(0);
    }
    unsigned threads = b->multithreaded ? cfg->threads : 1;
    r->threads = threads;
    mallet_bench_ctx_t ctx = {.zone = zone, .backend = id, .threads = threads, .seed = cfg->seed,
                              .scale = cfg->scale, .size_spec = cfg->size_spec,
                              .main_thread = cfg->main_thread};
    ctx.t = aligned_alloc(128, sizeof(mallet_bench_thread_t) * (threads + 1));
    memset(ctx.t, 0, sizeof(mallet_bench_thread_t) * (threads + 1));
    for (unsigned i = 0; i <= threads; i++) {
        ctx.t[i].ctx = &ctx;
        ctx.t[i].index = i;
        ctx.t[i].sample = 1 + i * 7 % MALLET_LATENCY_SAMPLE;
        mallet_rng_seed(&ctx.t[i].rng, cfg->seed, i + 1);
    }
    /* glibc never turns the flag back on, so a thread made earlier in this
     * process (or in the parent before fork) would quietly keep the
     * atomics on: say so, since that is what --main-thread is about. */
    if (cfg->main_thread && threads == 1 && !mallet_os_single_threaded())
        snprintf(r->note, sizeof r->note, "--main-thread, but the process was already multithreaded");
    mallet_vm_counts_t c0, c1;
    mallet_vm_counter_read(&c0);
    r->baseline_rss_kb = mallet_os_rss() / 1024;
    uint64_t t0 = mallet_os_now_ns();
    int rc = b->run(&ctx);
    uint64_t t1 = mallet_os_now_ns();
    mallet_vm_counter_read(&c1);
    r->wall_s = (double)(t1 - t0) / 1e9;
    mallet_latency_t *lat = &r->latency;
    int failed = 0;
    for (unsigned i = 0; i <= threads; i++) {
        r->ops += ctx.t[i].ops;
        failed += ctx.t[i].failed;
        mallet_latency_merge(lat, &ctx.t[i].lat);
    }
    r->ops_per_s = r->wall_s > 0 ? (double)r->ops / r->wall_s : 0;
    r->p50_ns = mallet_latency_quantile(lat, 0.50);
    r->p99_ns = mallet_latency_quantile(lat, 0.99);
    r->p999_ns = mallet_latency_quantile(lat, 0.999);
    r->max_ns = lat->max_ns;
    r->peak_live_bytes = ctx.peak_live;
    /* glibc's malloc maps through internal aliases we cannot count. */
    if (!mallet_vm_counter_active() || strcmp(id, "sys") == 0) {
        r->vm_maps = r->vm_unmaps = r->vm_madvises = -1;
    } else {
        r->vm_maps = (int64_t)(c1.maps - c0.maps + c1.remaps - c0.remaps);
        r->vm_unmaps = (int64_t)(c1.unmaps - c0.unmaps);
        r->vm_madvises = (int64_t)(c1.madvises - c0.madvises);
    }
    if (fresh_image)
        r->peak_rss_kb = mallet_os_peak_rss() / 1024;
    if (rc != 0) {
        r->status = RUN_FAILED;
        snprintf(r->note, sizeof r->note, "benchmark returned %d", rc);
    } else if (failed) {
        r->status = RUN_FAILED;
        snprintf(r->note, sizeof r->note, "%d allocations returned NULL", failed);
    }
    write_all(fd, r, sizeof *r);
    _exit(0);
}

/* ---- the exec'd child's command line ------------------------------------
 * mallet __bench-child FD REPEAT BENCH ENTRY THREADS SEED SCALE TIMEOUT
 *                      MAIN_THREAD ZONE_OPTIONS SIZE_SPEC TRACE
 * An optional string is "-" when absent and "=VALUE" when given, so an
 * empty value survives. SCALE is printed with %a, so it is exact. */
enum { CHILD_ARGC = 14 };

static char *opt_arg(const char *v)
{
    if (v == NULL)
        return strdup("-");
    char *s = malloc(strlen(v) + 2);
    if (s) {
        s[0] = '=';
        strcpy(s + 1, v);
    }
    return s;
}

static bool opt_parse(const char *arg, const char **out)
{
    if (strcmp(arg, "-") == 0) {
        *out = NULL;
        return true;
    }
    *out = arg + 1;
    return arg[0] == '=';
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* In the forked child: becomes a fresh image of this program. Returns
 * only if execve failed. */
static void exec_child(const mallet_bench_t *b, const char *entry, unsigned repeat,
                       const mallet_run_config_t *cfg, int fd)
{
    char fd_s[16], repeat_s[16], threads_s[16], seed_s[32], scale_s[64], timeout_s[16];
    snprintf(fd_s, sizeof fd_s, "%d", fd);
    snprintf(repeat_s, sizeof repeat_s, "%u", repeat);
    snprintf(threads_s, sizeof threads_s, "%u", cfg->threads);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)cfg->seed);
    snprintf(scale_s, sizeof scale_s, "%a", cfg->scale);
    snprintf(timeout_s, sizeof timeout_s, "%u", cfg->timeout_s);
    char *argv[CHILD_ARGC + 1] = {program_invocation_short_name, (char *)MALLET_RUN_CHILD_COMMAND,
                                  fd_s, repeat_s, (char *)b->name, (char *)entry,
                                  threads_s, seed_s, scale_s, timeout_s,
                                  (char *)(cfg->main_thread ? "1" : "0"), opt_arg(cfg->zone_options),
                                  opt_arg(cfg->size_spec), opt_arg(cfg->trace_path), NULL};
    extern char **environ;
    execve("/proc/self/exe", argv, environ);
}

void mallet_run_child_main(int argc, char **argv, mallet_run_resolve_fn resolve)
{
    if (argc < 2 || strcmp(argv[1], MALLET_RUN_CHILD_COMMAND) != 0)
        return;
    uint64_t fd, repeat, threads, seed, timeout;
    mallet_run_config_t cfg = {.isolation = MALLET_ISOLATE_EXEC};
    char *end = NULL;
    bool ok = argc == CHILD_ARGC && parse_u64(argv[2], &fd) && fd <= 1024 && parse_u64(argv[3], &repeat) &&
              parse_u64(argv[6], &threads) && threads <= MALLET_BENCH_MAX_THREADS &&
              parse_u64(argv[7], &seed) && parse_u64(argv[9], &timeout) &&
              (strcmp(argv[10], "0") == 0 || strcmp(argv[10], "1") == 0) &&
              opt_parse(argv[11], &cfg.zone_options) && opt_parse(argv[12], &cfg.size_spec) &&
              opt_parse(argv[13], &cfg.trace_path);
    if (ok) {
        cfg.scale = strtod(argv[8], &end);
        ok = end != argv[8] && *end == '\0';
    }
    if (!ok) {
        fprintf(stderr, "mallet: %s is the benchmark runner's own child command, not for use by hand\n",
                MALLET_RUN_CHILD_COMMAND);
        _exit(2);
    }
    mallet_os_restore_exec_name(); /* "exe" otherwise, in ps and perf */
    cfg.threads = (unsigned)threads;
    cfg.seed = seed;
    cfg.timeout_s = (unsigned)timeout;
    cfg.main_thread = argv[10][0] == '1';
    const char *entry = argv[5];
    mallet_run_result_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.benchmark, sizeof r.benchmark, "%s", argv[4]);
    snprintf(r.backend, sizeof r.backend, "%s", entry);
    r.repeat = (unsigned)repeat;
    r.vm_maps = r.vm_unmaps = r.vm_madvises = -1;
    char err[256] = "";
    const mallet_bench_t *b = resolve(argv[4], &cfg, err, sizeof err);
    if (b == NULL) {
        r.status = RUN_FAILED;
        snprintf(r.note, sizeof r.note, "child cannot find benchmark %s: %s", argv[4], err);
        write_all((int)fd, &r, sizeof r);
        _exit(0);
    }
    r.threads = b->multithreaded ? cfg.threads : 1;
    child(b, entry, &cfg, &r, (int)fd, true);
}

void mallet_run_one(const mallet_bench_t *b, const char *id, unsigned repeat,
                    const mallet_run_config_t *cfg, mallet_run_result_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->benchmark, sizeof out->benchmark, "%s", b->name);
    snprintf(out->backend, sizeof out->backend, "%s", id);
    out->repeat = repeat;
    out->threads = b->multithreaded ? cfg->threads : 1;
    out->vm_maps = out->vm_unmaps = out->vm_madvises = -1;
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        out->status = RUN_FAILED;
        snprintf(out->note, sizeof out->note, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        out->status = RUN_FAILED;
        snprintf(out->note, sizeof out->note, "fork: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return;
    }
    if (pid == 0) {
        close(pipefd[0]);
        alarm(cfg->timeout_s);
        mallet_run_result_t r = *out;
        if (cfg->isolation == MALLET_ISOLATE_EXEC) {
            exec_child(b, id, repeat, cfg, pipefd[1]);
            r.status = RUN_FAILED; /* never silently the fork-only child */
            snprintf(r.note, sizeof r.note, "cannot exec /proc/self/exe: %s (try --isolation fork)",
                     strerror(errno));
            write_all(pipefd[1], &r, sizeof r);
            _exit(0);
        }
        child(b, id, cfg, &r, pipefd[1], false);
    }
    close(pipefd[1]);
    mallet_run_result_t r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(pipefd[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(pipefd[0]);
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR) {
    }
    if (got == sizeof r)
        *out = r;
    /* An exec'd child measured its own image's peak (see runner.h). */
    if (out->peak_rss_kb == 0)
        out->peak_rss_kb = (uint64_t)ru.ru_maxrss;
    out->minflt = (uint64_t)ru.ru_minflt;
    out->majflt = (uint64_t)ru.ru_majflt;
    out->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    out->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        out->status = sig == SIGALRM ? RUN_TIMEOUT : RUN_CRASHED;
        if (sig == SIGALRM)
            snprintf(out->note, sizeof out->note, "no result after %u s", cfg->timeout_s);
        else
            snprintf(out->note, sizeof out->note, "killed by signal %d (%s)", sig, strsignal(sig));
    } else if (got != sizeof r && out->status == RUN_OK) {
        out->status = RUN_CRASHED;
        snprintf(out->note, sizeof out->note, "exited with status %d without a result",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    if (out->status == RUN_OK && out->peak_live_bytes > 0 && out->peak_rss_kb > out->baseline_rss_kb)
        out->fragmentation =
            (double)(out->peak_rss_kb - out->baseline_rss_kb) * 1024.0 / (double)out->peak_live_bytes;
}

double mallet_run_calibrate_overhead_ns(void)
{
    mallet_bench_ctx_t ctx = {.threads = 0};
    mallet_bench_thread_t t;
    memset(&t, 0, sizeof t);
    t.ctx = &ctx;
    t.sample = 1;
    ctx.t = &t;
    volatile int sink = 0;
    enum { N = 2000000 };
    uint64_t t0 = mallet_os_now_ns();
    for (int i = 0; i < N; i++)
        MALLET_BENCH_TIMED(&t, sink++);
    uint64_t t1 = mallet_os_now_ns();
    return (double)(t1 - t0) / N;
}
