/*
 * bench/bench_glibc.c — the two benchmarks of glibc's benchtests, rewritten:
 *   glibc-simple: bench-malloc-simple — allocate a batch of N blocks of one
 *                 size and free them all, for N in 25/100/400/1600 and sizes
 *                 16 B-4 KiB; a single thread (the fast paths: tcache, nano).
 *   glibc-thread: bench-malloc-thread — each thread keeps 1024 slots and
 *                 replaces a random slot with a block of random size
 *                 (4 B-32 KiB, small sizes far more likely).
 */
#include <stdlib.h>

#include "bench/bench.h"

static int run_simple(mallet_bench_ctx_t *c)
{
    static const size_t sizes[] = {16, 64, 256, 1024, 4096};
    static const unsigned amounts[] = {25, 100, 400, 1600};
    mallet_bench_thread_t *t = &c->t[c->threads];
    void **p = malloc(1600 * sizeof *p);
    uint64_t reps = mallet_bench_n(c, 60, 2);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t a = 0; a < sizeof amounts / sizeof *amounts; a++)
            for (uint64_t r = 0; r < reps * 1600 / amounts[a]; r++) {
                for (unsigned i = 0; i < amounts[a]; i++)
                    p[i] = bt_malloc(t, sizes[s]);
                for (unsigned i = 0; i < amounts[a]; i++)
                    bt_free(t, p[i], sizes[s]);
            }
    free(p);
    return 0;
}

enum { SLOTS = 1024 };
static uint64_t thread_iters;

/* glibc's test draws sizes from a table skewed to small sizes; a 1/x
 * density between 4 B and 32 KiB has the same shape. */
static size_t skewed_size(mallet_rng_t *r)
{
    double u = mallet_rng_unit(r);
    /* inverse CDF of density ~ 1/x on [4, 32768] */
    double v = 4.0 * __builtin_exp(u * __builtin_log(32768.0 / 4.0));
    return (size_t)v;
}

static void *thread_worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    void *p[SLOTS] = {0};
    size_t n[SLOTS] = {0};
    for (uint64_t i = 0; i < thread_iters; i++) {
        unsigned k = (unsigned)mallet_rng_below(&t->rng, SLOTS);
        bt_free(t, p[k], n[k]);
        n[k] = skewed_size(&t->rng);
        p[k] = bt_malloc(t, n[k]);
    }
    for (unsigned k = 0; k < SLOTS; k++)
        bt_free(t, p[k], n[k]);
    return NULL;
}

static int run_thread(mallet_bench_ctx_t *c)
{
    thread_iters = mallet_bench_n(c, 8000000 / c->threads, 10000);
    return mallet_bench_parallel(c, c->threads, thread_worker);
}

const mallet_bench_t mallet_bench_glibc_simple = {
    "glibc-simple", "glibc bench-malloc-simple: batches of 25-1600 same-size blocks, 16 B-4 KiB", false, run_simple};
const mallet_bench_t mallet_bench_glibc_thread = {
    "glibc-thread", "glibc bench-malloc-thread: 1024 slots per thread, random 4 B-32 KiB replacements", true,
    run_thread};
