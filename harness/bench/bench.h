/*
 * bench/bench.h — the benchmark programs of `mallet bench`.
 *
 * A benchmark is a function run in a fresh child process against one zone
 * (runner.c forks, and by default re-executes the program, per run, so one
 * backend's crash, leak or fragmentation cannot touch another's numbers). It does its allocator work through a
 * mallet_bench_thread_t per thread, whose inline wrappers count operations,
 * track live requested bytes (for fragmentation = RSS / live) and sample
 * latencies. Only the allocator calls go through the wrappers; the
 * benchmark's own bookkeeping is kept out of the timed path where it can be.
 *
 * `scale` shrinks the work: 1.0 for the default suite, ~0.02 for --smoke.
 */
#ifndef MALLET_BENCH_H
#define MALLET_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bench/latency.h"
#include "mallet/mallet.h"
#include "workload/rng.h"

#define MALLET_BENCH_MAX_THREADS 64

typedef struct mallet_bench_ctx mallet_bench_ctx_t;

typedef struct mallet_bench_thread {
    mallet_bench_ctx_t *ctx;
    unsigned index;
    mallet_rng_t rng;
    uint64_t ops;
    int64_t live;         /* requested bytes this thread allocated minus freed */
    unsigned sample;      /* countdown to the next timed operation */
    mallet_latency_t lat;
    int failed;           /* an allocation returned NULL unexpectedly */
} __attribute__((aligned(128))) mallet_bench_thread_t;

struct mallet_bench_ctx {
    mallet_zone_t *zone;
    const char *backend;
    unsigned threads;
    uint64_t seed;
    double scale;
    const char *size_spec;          /* --sizes override, or NULL */
    bool main_thread;               /* --main-thread: one-thread runs on the calling thread */
    mallet_bench_thread_t *t;       /* threads entries (+1 for the main thread) */
    /* Peak of the sum of all threads' live bytes, updated every 1024 ops. */
    int64_t peak_live;
};

typedef struct mallet_bench {
    const char *name;
    const char *description;
    bool multithreaded;   /* uses ctx->threads threads (else one) */
    /* Returns 0, or non-zero after printing what went wrong to stderr. */
    int (*run)(mallet_bench_ctx_t *ctx);
} mallet_bench_t;

/* Backend `floor` (bench_floor.c): per-class free lists with no checks,
 * the "no work" line of the small-block benchmarks. Only `mallet bench`
 * knows it; select it by name (it is in no group). */
extern const mallet_backend_t mallet_bench_floor_backend;
/* mallet_backend_find, plus `floor`. */
const mallet_backend_t *mallet_bench_backend_find(const char *id);

/* The suite, in report order, NULL-terminated; find by name. */
extern const mallet_bench_t *const mallet_benchmarks[];
const mallet_bench_t *mallet_bench_find(const char *name);
/* Benchmarks in the default suite (all of them unless noted). */
bool mallet_bench_in_default_suite(const mallet_bench_t *b);

/* ---- helpers for benchmark code ---------------------------------------- */

/* Scaled iteration count, at least `min`. */
static inline uint64_t mallet_bench_n(const mallet_bench_ctx_t *c, uint64_t full, uint64_t min)
{
    uint64_t n = (uint64_t)((double)full * c->scale);
    return n < min ? min : n;
}

/* Runs fn(thread) on ctx->threads threads (thread i gets ctx->t[i]) and
 * waits for them. Returns 0 or an errno value. With ctx->main_thread a
 * single thread is the calling one: no thread is created, so the process
 * stays single-threaded and allocators that look (glibc's, nano's) skip
 * their atomics, as they would in a single-threaded program. */
int mallet_bench_parallel(mallet_bench_ctx_t *c, unsigned threads, void *(*fn)(void *));

void mallet_bench_note_live(mallet_bench_thread_t *t);

static inline uint64_t mallet_bench_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Only the owning thread writes `live`; others read it (relaxed atomics:
 * plain loads and stores on x86, and honest for TSan). */
static inline void bt_live_add(mallet_bench_thread_t *t, int64_t d)
{
    __atomic_store_n(&t->live, __atomic_load_n(&t->live, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

#define MALLET_BENCH_TIMED(t, expr)                                              \
    do {                                                                         \
        if (__builtin_expect(--(t)->sample == 0, 0)) {                           \
            (t)->sample = MALLET_LATENCY_SAMPLE;                                 \
            uint64_t t0_ = mallet_bench_clock();                                 \
            expr;                                                                \
            mallet_latency_add(&(t)->lat, mallet_bench_clock() - t0_);           \
        } else {                                                                 \
            expr;                                                                \
        }                                                                        \
        if (__builtin_expect(((++(t)->ops) & 1023) == 0, 0))                     \
            mallet_bench_note_live(t);                                           \
    } while (0)

static inline void *bt_malloc(mallet_bench_thread_t *t, size_t n)
{
    void *p;
    MALLET_BENCH_TIMED(t, p = mallet_malloc(t->ctx->zone, n));
    if (__builtin_expect(p == NULL, 0))
        t->failed++;
    else
        bt_live_add(t, (int64_t)n);
    return p;
}

static inline void *bt_calloc(mallet_bench_thread_t *t, size_t count, size_t n)
{
    void *p;
    MALLET_BENCH_TIMED(t, p = mallet_calloc(t->ctx->zone, count, n));
    if (__builtin_expect(p == NULL, 0))
        t->failed++;
    else
        bt_live_add(t, (int64_t)(count * n));
    return p;
}

static inline void *bt_memalign(mallet_bench_thread_t *t, size_t align, size_t n)
{
    void *p;
    MALLET_BENCH_TIMED(t, p = mallet_memalign(t->ctx->zone, align, n));
    if (__builtin_expect(p == NULL, 0))
        t->failed++;
    else
        bt_live_add(t, (int64_t)n);
    return p;
}

/* `n` is the size the block was requested with (for live-byte tracking). */
static inline void *bt_realloc(mallet_bench_thread_t *t, void *p, size_t old_n, size_t n)
{
    void *q;
    MALLET_BENCH_TIMED(t, q = mallet_realloc(t->ctx->zone, p, n));
    if (__builtin_expect(q == NULL && n != 0, 0))
        t->failed++;
    else
        bt_live_add(t, (int64_t)n - (int64_t)old_n);
    return q;
}

static inline void bt_free(mallet_bench_thread_t *t, void *p, size_t n)
{
    if (p == NULL)
        return;
    MALLET_BENCH_TIMED(t, mallet_free(t->ctx->zone, p));
    bt_live_add(t, -(int64_t)n);
}

/* Touch a block the way a program would (first and last byte, and one
 * byte per page in between) so lazy backends pay their page faults. */
static inline void bt_touch(void *p, size_t n, unsigned char v)
{
    unsigned char *b = (unsigned char *)p;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i += 4096)
        b[i] = v;
    b[n - 1] = v;
}

#endif
