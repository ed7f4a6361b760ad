/*
 * bench/bench_large.c — big blocks:
 *   malloc-large:   (mimalloc-bench) keep up to 20 blocks of 5-25 MiB,
 *                   replace them at random and touch every page: the cost
 *                   is mmap/munmap, page faults and any caching of them.
 *   realloc-growth: 2000 buffers grown in small steps from 16 B to
 *                   ~64 KiB, interleaved (a string builder / vector
 *                   pattern): in-place growth versus copying.
 */
#include <stdlib.h>

#include "bench/bench.h"

static int run_large(mallet_bench_ctx_t *c)
{
    enum { LIVE = 20 };
    mallet_bench_thread_t *t = &c->t[c->threads];
    void *p[LIVE] = {0};
    size_t n[LIVE] = {0};
    uint64_t iters = mallet_bench_n(c, 300, 40);
    for (uint64_t i = 0; i < iters; i++) {
        unsigned k = (unsigned)mallet_rng_below(&t->rng, LIVE);
        bt_free(t, p[k], n[k]);
        n[k] = (5u << 20) + mallet_rng_below(&t->rng, 20u << 20);
        p[k] = bt_malloc(t, n[k]);
        if (p[k])
            bt_touch(p[k], n[k], (unsigned char)i);
    }
    for (unsigned k = 0; k < LIVE; k++)
        bt_free(t, p[k], n[k]);
    return 0;
}

static int run_realloc(mallet_bench_ctx_t *c)
{
    enum { BUFS = 2000 };
    mallet_bench_thread_t *t = &c->t[c->threads];
    char **p = calloc(BUFS, sizeof *p);
    size_t *n = calloc(BUFS, sizeof *n);
    uint64_t limit = mallet_bench_n(c, 65536, 2048);
    uint64_t reps = mallet_bench_n(c, 3, 1);
    for (uint64_t rep = 0; rep < reps; rep++) {
        for (;;) {
            int grown = 0;
            for (unsigned k = 0; k < BUFS; k++) {
                if (n[k] >= limit)
                    continue;
                size_t add = 16 + mallet_rng_below(&t->rng, 49) + n[k] / 8;
                char *q = bt_realloc(t, p[k], n[k], n[k] + add);
                if (!q)
                    continue;
                q[n[k] + add - 1] = (char)k; /* write the new tail, as an appender would */
                p[k] = q;
                n[k] += add;
                grown = 1;
            }
            if (!grown)
                break;
        }
        for (unsigned k = 0; k < BUFS; k++) {
            bt_free(t, p[k], n[k]);
            p[k] = NULL;
            n[k] = 0;
        }
    }
    free(p);
    free(n);
    return 0;
}

const mallet_bench_t mallet_bench_malloc_large = {
    "malloc-large", "up to 20 live blocks of 5-25 MiB, replaced at random, every page touched", false, run_large};
const mallet_bench_t mallet_bench_realloc_growth = {
    "realloc-growth", "2000 buffers grown by realloc in small steps to ~64 KiB, interleaved", false, run_realloc};
