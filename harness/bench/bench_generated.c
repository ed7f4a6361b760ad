/*
 * bench/bench_generated.c — benchmarks driven by the workload generators:
 * a size distribution (workload/size_dist.h), a lifetime model and an
 * operation mix. Each thread keeps a pool of live blocks; every step either
 * allocates (malloc / calloc / memalign per the mix) or releases one block
 * chosen by the lifetime model, or reallocs one:
 *   lifo    free the newest block (stack-like, e.g. recursive code)
 *   fifo    free the oldest block (queues, caches)
 *   random  free a random block
 * A `long_lived` fraction of allocations is kept to the end of the run.
 * --sizes SPEC on the command line replaces the benchmark's distribution.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "workload/size_dist.h"

typedef enum { LIFE_LIFO, LIFE_FIFO, LIFE_RANDOM } lifetime_t;

typedef struct gen_params {
    const char *sizes;
    lifetime_t lifetime;
    unsigned pool;          /* target number of live (short-lived) blocks */
    double long_lived;      /* fraction kept to the end */
    unsigned pct_calloc, pct_memalign, pct_realloc; /* of steps; rest malloc/free */
    uint64_t steps;         /* total at scale 1, divided among threads */
    bool mt;
} gen_params_t;

typedef struct item { void *p; size_t n; } item_t;

typedef struct gen_run {
    const gen_params_t *g;
    mallet_size_dist_t *dist;
    uint64_t steps_per_thread;
} gen_run_t;

static gen_run_t cur;

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    const gen_params_t *g = cur.g;
    size_t cap = g->pool * 2 + 16, head = 0, count = 0; /* ring buffer of live blocks */
    item_t *ring = calloc(cap, sizeof *ring);
    size_t keep_cap = 1024, keep_n = 0;
    item_t *keep = malloc(keep_cap * sizeof *keep);
    for (uint64_t s = 0; s < cur.steps_per_thread; s++) {
        uint64_t roll = mallet_rng_below(&t->rng, 100);
        bool release = count >= g->pool || (count > 0 && mallet_rng_below(&t->rng, 2 * g->pool) < count);
        if (roll < g->pct_realloc && count > 0) {
            item_t *it = &ring[(head + mallet_rng_below(&t->rng, count)) % cap];
            size_t n = mallet_size_dist_sample(cur.dist, &t->rng);
            void *q = bt_realloc(t, it->p, it->n, n);
            if (q) {
                it->p = q;
                it->n = n;
            }
            continue;
        }
        if (release) {
            size_t idx;
            if (g->lifetime == LIFE_FIFO) {
                idx = head;
                head = (head + 1) % cap;
            } else {
                size_t last = (head + count - 1) % cap;
                idx = g->lifetime == LIFE_LIFO ? last : (head + mallet_rng_below(&t->rng, count)) % cap;
                item_t tmp = ring[idx];
                ring[idx] = ring[last];
                ring[last] = tmp;
                idx = last;
            }
            count--;
            bt_free(t, ring[idx].p, ring[idx].n);
            continue;
        }
        size_t n = mallet_size_dist_sample(cur.dist, &t->rng);
        void *p;
        if (roll < g->pct_realloc + g->pct_calloc)
            p = bt_calloc(t, 1, n);
        else if (roll < g->pct_realloc + g->pct_calloc + g->pct_memalign)
            p = bt_memalign(t, (size_t)16 << mallet_rng_below(&t->rng, 6), n);
        else
            p = bt_malloc(t, n);
        if (p)
            bt_touch(p, n < 64 ? n : 64, (unsigned char)s);
        if (mallet_rng_unit(&t->rng) < g->long_lived) {
            if (keep_n == keep_cap) {
                keep_cap *= 2;
                keep = realloc(keep, keep_cap * sizeof *keep);
            }
            keep[keep_n++] = (item_t){p, n};
        } else {
            ring[(head + count) % cap] = (item_t){p, n};
            count++;
        }
    }
    for (size_t i = 0; i < count; i++)
        bt_free(t, ring[(head + i) % cap].p, ring[(head + i) % cap].n);
    for (size_t i = 0; i < keep_n; i++)
        bt_free(t, keep[i].p, keep[i].n);
    free(ring);
    free(keep);
    return NULL;
}

static int run_gen(mallet_bench_ctx_t *c, const gen_params_t *g)
{
    char err[256];
    const char *spec = c->size_spec ? c->size_spec : g->sizes;
    cur.g = g;
    cur.dist = mallet_size_dist_parse(spec, err, sizeof err);
    if (!cur.dist) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    unsigned threads = g->mt ? c->threads : 1;
    cur.steps_per_thread = mallet_bench_n(c, g->steps / threads, 20000);
    int rc = mallet_bench_parallel(c, threads, worker);
    mallet_size_dist_free(cur.dist);
    cur.dist = NULL;
    return rc;
}

#define GEN(sym, name, desc, MT, ...)                                                   \
    static int run_##sym(mallet_bench_ctx_t *c)                                     \
    {                                                                               \
        static const gen_params_t g = {__VA_ARGS__};                                \
        return run_gen(c, &g);                                                      \
    }                                                                               \
    const mallet_bench_t mallet_bench_##sym = {name, desc, MT, run_##sym};

GEN(alloc_test, "alloc-test", "Pareto sizes (alloc-test's power law), random lifetimes, one thread", false,
    .sizes = "pareto:16,1.2,65536", .lifetime = LIFE_RANDOM, .pool = 10000, .long_lived = 0.01,
    .pct_realloc = 5, .steps = 18000000)
GEN(app_objects, "app-objects", "app-like small objects (32-64 B mode), random lifetimes, 5% long-lived", false,
    .sizes = "profile:app-objects", .lifetime = LIFE_RANDOM, .pool = 20000, .long_lived = 0.05,
    .pct_calloc = 10, .pct_realloc = 3, .steps = 6000000)
GEN(tier_walk, "tier-walk", "sizes straddling libmalloc's tier limits, FIFO lifetimes", false,
    .sizes = "profile:tier-walk", .lifetime = LIFE_FIFO, .pool = 2000, .long_lived = 0.0,
    .pct_memalign = 2, .steps = 4500000)
GEN(lifo_small, "lifo-small", "small blocks freed in LIFO order (stack-like), one thread", false,
    .sizes = "profile:small", .lifetime = LIFE_LIFO, .pool = 500, .steps = 30000000)
GEN(server_mt, "server-mt", "server size profile on every thread, random lifetimes", true,
    .sizes = "profile:server", .lifetime = LIFE_RANDOM, .pool = 5000, .long_lived = 0.01,
    .pct_calloc = 5, .pct_realloc = 5, .steps = 8000000, .mt = true)
GEN(small_churn, "small-churn", "nano's case: 16-256 B blocks, ~1000 live, random replacement, one thread", false,
    .sizes = "uniform:16-256", .lifetime = LIFE_RANDOM, .pool = 1000, .steps = 20000000)
