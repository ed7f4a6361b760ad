/*
 * bench/bench_cache.c — cache-thrash and cache-scratch (from Hoard's
 * benchmarks): does the allocator put small blocks used by different
 * threads on the same cache line?
 *   cache-thrash:  each thread allocates its own 8-byte objects and writes
 *                  them (active false sharing if they share lines).
 *   cache-scratch: the main thread allocates one 8-byte object per thread
 *                  and hands it over; each thread frees it and then
 *                  allocates its own (passive false sharing if the freed
 *                  object's line is reused).
 * The writes dominate; the measure is the wall time.
 */
#include <stdio.h>

#include "bench/bench.h"

enum { OBJ = 8 };
static uint64_t iterations, writes;
static void *handed[MALLET_BENCH_MAX_THREADS];

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    if (handed[t->index]) {
        bt_free(t, handed[t->index], OBJ);
        handed[t->index] = NULL;
    }
    for (uint64_t i = 0; i < iterations; i++) {
        volatile char *p = bt_malloc(t, OBJ);
        if (!p)
            return NULL;
        for (uint64_t w = 0; w < writes; w++) {
            p[w & 7] = (char)w;
            (void)p[(w + 1) & 7];
        }
        bt_free(t, (void *)p, OBJ);
    }
    return NULL;
}

static int run_common(mallet_bench_ctx_t *c, int scratch)
{
    iterations = mallet_bench_n(c, 100000, 1000);
    writes = 2000;
    for (unsigned i = 0; i < c->threads; i++)
        handed[i] = scratch ? bt_malloc(&c->t[c->threads], OBJ) : NULL;
    return mallet_bench_parallel(c, c->threads, worker);
}

static int run_thrash(mallet_bench_ctx_t *c) { return run_common(c, 0); }
static int run_scratch(mallet_bench_ctx_t *c) { return run_common(c, 1); }

const mallet_bench_t mallet_bench_cache_thrash = {
    "cache-thrash", "threads write their own small objects (active false sharing)", true, run_thrash};
const mallet_bench_t mallet_bench_cache_scratch = {
    "cache-scratch", "threads free a neighbour-allocated object, then allocate and write (passive false sharing)",
    true, run_scratch};
