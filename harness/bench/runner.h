/*
 * bench/runner.h — runs one (benchmark, backend) pair in a child process
 * and measures it. The child builds the zone, runs the benchmark and sends
 * its in-process numbers up a pipe; the parent adds what only the kernel
 * knows about the child (wait4's rusage: peak RSS, faults, CPU times).
 * A crash, a timeout or a failed benchmark becomes the run's status; the
 * suite carries on.
 *
 * Isolation. By default the child re-executes the program (/proc/self/exe,
 * hidden command MALLET_RUN_CHILD_COMMAND) before it builds the zone, so
 * each run starts in a fresh process image: the system allocator (sys,
 * and a peer's own state) begins as in a new program instead of inheriting
 * the runner's heap through fork, and peak RSS is the image's own VmHWM
 * (wait4's ru_maxrss would keep the runner's copied pages). A program that
 * links the runner must therefore pass its argv to mallet_run_child_main()
 * first thing in main(). MALLET_ISOLATE_FORK keeps the old fork-only child
 * (for valgrind without --trace-children, or a system without /proc).
 */
#ifndef MALLET_BENCH_RUNNER_H
#define MALLET_BENCH_RUNNER_H

#include <stdint.h>

#include "bench/bench.h"

typedef enum {
    RUN_OK = 0,
    RUN_FAILED,    /* the benchmark reported an error (or allocations failed) */
    RUN_CRASHED,   /* killed by a signal */
    RUN_TIMEOUT,
    RUN_MISSING,   /* backend not built / peer library not installed */
} mallet_run_status_t;

typedef struct mallet_run_result {
    char benchmark[32], backend[48]; /* backend: the --backends entry, its label */
    unsigned repeat, threads;
    mallet_run_status_t status;
    char note[160];                 /* why it failed / crashed / is missing */
    double wall_s, user_s, sys_s;
    uint64_t ops;
    double ops_per_s;
    uint64_t p50_ns, p99_ns, p999_ns, max_ns;
    uint64_t peak_rss_kb, baseline_rss_kb;
    int64_t peak_live_bytes;
    double fragmentation;          /* (peak RSS - baseline) / peak live; 0 if unknown */
    uint64_t minflt, majflt;
    int64_t vm_maps, vm_unmaps, vm_madvises; /* mmap+mremap, munmap, madvise calls; -1 unknown (sys, sanitizers) */
    mallet_latency_t latency;      /* sampled latencies of all threads (for CDF plots) */
} mallet_run_result_t;

typedef enum {
    MALLET_ISOLATE_EXEC = 0,       /* fork, then exec a fresh image (default) */
    MALLET_ISOLATE_FORK,           /* fork only: the child shares the runner's history */
} mallet_isolation_t;

typedef struct mallet_run_config {
    unsigned threads;
    uint64_t seed;
    double scale;
    unsigned timeout_s;
    const char *size_spec;
    bool main_thread;              /* --main-thread (see mallet_bench_parallel) */
    const char *zone_options;      /* passed to create_zone for own backends, may be NULL */
    const char *trace_path;        /* replay: the trace the exec'd child opens, else NULL */
    mallet_isolation_t isolation;
} mallet_run_config_t;

#define MALLET_RUN_CHILD_COMMAND "__bench-child"

/* Finds the benchmark an exec'd child runs, by name (and cfg->trace_path
 * for a replay). NULL, with a message in err, if there is none. */
typedef const mallet_bench_t *(*mallet_run_resolve_fn)(const char *name, const mallet_run_config_t *cfg,
                                                       char *err, size_t errlen);

/* If argv is an exec'd run child's (argv[1] == MALLET_RUN_CHILD_COMMAND),
 * runs it and never returns; otherwise returns at once. */
void mallet_run_child_main(int argc, char **argv, mallet_run_resolve_fn resolve);

const char *mallet_isolation_name(mallet_isolation_t i);
/* The default: exec, except under valgrind, whose tools do not follow an
 * exec without --trace-children=yes (the runs would escape them): fork
 * there, and *why says so (for a loud line). */
mallet_isolation_t mallet_isolation_default(const char **why);
/* "exec" or "fork" (the --isolation option); false for anything else. */
bool mallet_isolation_parse(const char *s, mallet_isolation_t *out);

/* A --backends entry may carry zone options for that backend alone:
 * "ptmalloc:harden=1:brk_reserve=1G". Splits it into the backend id and
 * the option string create_zone takes, where a lowercase name without a
 * dot gets the backend's prefix ("harden=1" -> "ptmalloc.harden=1") and
 * anything else (a dotted or native name such as MallocNanoZone) is kept.
 * Returns true when the entry has options; false (id = entry) otherwise,
 * or when an output buffer is too small (id is then "" so the entry fails
 * as an unknown backend). */
bool mallet_run_split_backend(const char *entry, char *id, size_t idlen, char *opts, size_t optlen);

/* Runs `b` against backend `id` (a --backends entry) in a child. Its own
 * zone options, if any, replace cfg->zone_options. Always fills *out. */
void mallet_run_one(const mallet_bench_t *b, const char *id, unsigned repeat,
                    const mallet_run_config_t *cfg, mallet_run_result_t *out);

const char *mallet_run_status_name(mallet_run_status_t s);

/* Cost of the measuring wrappers per operation (ns), measured with an
 * empty operation: reported in meta.json so readers can judge small ns. */
double mallet_run_calibrate_overhead_ns(void);

#endif
