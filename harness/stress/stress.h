/*
 * harness/stress/stress.h — multithreaded stress, thread lifecycle and
 * fault-injection runs for every registered backend (`mallet stress`).
 *
 * Design: each backend runs in its own forked child (a crash or a corrupt
 * heap in one backend cannot hide another's result). Inside the child N
 * threads perform random malloc/calloc/realloc/memalign/free over all size
 * tiers; blocks are handed between threads through a shared exchange so
 * most frees happen on a thread other than the allocating one. Every block
 * is filled with a pattern derived from (block id, generation, offset) and
 * verified before each free and realloc. Allocation from signal handlers is
 * out of scope (no backend promises async-signal-safety).
 */
#ifndef MALLET_STRESS_H
#define MALLET_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mallet/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stress_config {
    unsigned threads;        /* worker threads (default 4) */
    double seconds;          /* time bound, 0 = none */
    uint64_t ops;            /* per-thread op bound, 0 = none */
    uint64_t seed;           /* deterministic seed */
    bool smoke;              /* short run: small ops bound, fewer threads */
    bool soak;               /* RSS sampling over time + growth flag */
    double soak_interval;    /* seconds between RSS samples */
    const char *out_dir;     /* soak CSV directory (NULL = results/...) */
    bool lifecycle;          /* thread create/destroy churn + fork test */
    bool faults;             /* RLIMIT_AS / mmap-failure injection tests */
    bool verbose;
} stress_config_t;

/* Outcome of one backend run (child exit status mapped). */
enum {
    STRESS_OK = 0,
    STRESS_FAILED = 1,       /* corruption, check() failure, lost data */
    STRESS_SKIPPED = 77,     /* backend not built / not installed */
};

void stress_config_defaults(stress_config_t *cfg);

/* Runs the full stress (mt + optional lifecycle/faults/soak) for one backend
 * in the calling process. Returns STRESS_OK or STRESS_FAILED; prints
 * diagnostics naming the backend, block, offset and bytes on corruption. */
int stress_run_backend(const mallet_backend_t *b, const stress_config_t *cfg);

/* Thread lifecycle (create/destroy churn, fork from a multithreaded
 * process then allocate in the child). */
int stress_lifecycle(const mallet_backend_t *b, const stress_config_t *cfg);

/* Fault tests: RLIMIT_AS and injected mmap failures. */
int stress_faults(const mallet_backend_t *b, const stress_config_t *cfg);

/* Fork a child running fn(b, cfg); returns its mapped exit code
 * (signals -> STRESS_FAILED with a message). */
int stress_in_child(const char *what, const mallet_backend_t *b,
                    const stress_config_t *cfg,
                    int (*fn)(const mallet_backend_t *, const stress_config_t *));

/* `mallet stress` entry point. */
int stress_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_STRESS_H */
