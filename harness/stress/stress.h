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
    bool mt;                 /* the multithreaded random-ops stress */
    bool lifecycle;          /* thread create/destroy churn + fork test */
    bool faults;             /* RLIMIT_AS / mmap-failure injection tests */
    unsigned timeout_s;      /* per child; SIGALRM => failed (hung) */
    bool selftest_corrupt;   /* tests only: flip one byte of a live block */
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

/* ---- shared with harness/security ------------------------------------- */

/* Draws every <dir>/soak_<id>.csv into soak_rss.svg/.png with gnuplot
 * (soak_plot.c). 0, or -1 after saying why on stderr. */
int stress_soak_plot(const char *dir);

/* Looks up a backend. Returns 0 when usable (sets *b), else 77 with `why`
 * filled ("not built into this mallet", "not installed: ..."). */
int stress_backend_usable(const char *id, const mallet_backend_t **b, char *why, size_t len);

/* Identity pattern: byte i of block (id, gen). fill/verify the whole block;
 * verify returns the first bad offset or SIZE_MAX. */
void stress_pattern_fill(void *p, size_t n, uint64_t id, uint32_t gen);
size_t stress_pattern_verify(const void *p, size_t n, uint64_t id, uint32_t gen);
uint8_t stress_pattern_byte(uint64_t id, uint32_t gen, size_t off);
/* Prints "CORRUPTION <backend>: block #id (ptr, n bytes) at offset off:
 * expected .. found .." to stderr (never allocates). */
void stress_report_corruption(const char *backend, const char *what, uint64_t id, const void *p,
                              size_t n, uint32_t gen, size_t off);

/* Recording error handler: counts reports and prints each once (never
 * aborts). Install in a child before touching the zone. */
void stress_install_recorder(const char *backend);
unsigned long stress_reports(void);

/* A known, version-pinned peer defect (reported loudly, not a failure). */
bool stress_known_mimalloc_700(const mallet_backend_t *b, size_t align, size_t n);

/* `mallet stress` entry point. */
int stress_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_STRESS_H */
