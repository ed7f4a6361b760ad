/*
 * bench/bench_fragmentation.c — how much memory does the allocator hold
 * for the bytes the program really uses, when the workload changes phase?
 *   1. fill: many small blocks (16-128 B) up to the target live size;
 *   2. thin: free 90% of them at random (holes everywhere, 10% pinned);
 *   3. shift: allocate medium blocks (1-8 KiB) to the same live size —
 *      they do not fit the small holes;
 *   4. shrink: free all medium blocks, ask the zone for pressure relief.
 * The runner reports peak RSS over peak live bytes; this benchmark also
 * prints the RSS at the end of each phase (in the run's log).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "os/os.h"

typedef struct item { void *p; size_t n; } item_t;

static int run(mallet_bench_ctx_t *c)
{
    mallet_bench_thread_t *t = &c->t[c->threads];
    size_t target = (size_t)mallet_bench_n(c, 128u << 20, 8u << 20);
    size_t cap = target / 16 + 1, n = 0, live = 0;
    item_t *small = malloc(cap * sizeof *small);
    while (live < target && n < cap) {
        size_t sz = 16 + mallet_rng_below(&t->rng, 113);
        small[n].p = bt_malloc(t, sz);
        small[n].n = sz;
        if (small[n].p)
            bt_touch(small[n].p, sz, 1);
        live += sz;
        n++;
    }
    size_t rss_fill = mallet_os_rss();
    for (size_t i = 0; i < n; i++)
        if (mallet_rng_below(&t->rng, 10) != 0) {
            bt_free(t, small[i].p, small[i].n);
            live -= small[i].n;
            small[i].p = NULL;
        }
    size_t rss_thin = mallet_os_rss();
    size_t mcap = target / 1024 + 1, m = 0;
    item_t *medium = malloc(mcap * sizeof *medium);
    while (live < target && m < mcap) {
        size_t sz = 1024 + mallet_rng_below(&t->rng, 7 * 1024 + 1);
        medium[m].p = bt_malloc(t, sz);
        medium[m].n = sz;
        if (medium[m].p)
            bt_touch(medium[m].p, sz, 2);
        live += sz;
        m++;
    }
    size_t rss_shift = mallet_os_rss();
    for (size_t i = 0; i < m; i++) {
        bt_free(t, medium[i].p, medium[i].n);
        live -= medium[i].n;
    }
    mallet_pressure_relief(c->zone, 0);
    size_t rss_shrink = mallet_os_rss();
    fprintf(stderr, "fragmentation: live %zu MiB; RSS MiB after fill %zu, thin %zu, shift %zu, shrink %zu\n",
            target >> 20, rss_fill >> 20, rss_thin >> 20, rss_shift >> 20, rss_shrink >> 20);
    for (size_t i = 0; i < n; i++)
        bt_free(t, small[i].p, small[i].n);
    free(small);
    free(medium);
    return 0;
}

const mallet_bench_t mallet_bench_fragmentation = {
    "fragmentation", "phase change small->medium with 10% pinned: peak RSS versus peak live bytes", false, run};
