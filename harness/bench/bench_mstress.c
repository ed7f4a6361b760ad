/*
 * bench/bench_mstress.c — mstress (mimalloc-bench's stress test): rounds of
 * short-lived threads that allocate a mix of small and occasionally large
 * blocks, grow some with realloc, free most, and leave a share in a global
 * transfer array for threads of later rounds to free. Exercises thread
 * creation and exit, abandoned heaps and cross-thread frees.
 */
#include <pthread.h>
#include <stdlib.h>

#include "bench/bench.h"

enum { TRANSFER = 1000, ITEMS = 1500 };

typedef struct item { void *p; size_t n; } item_t;
static item_t transfer[TRANSFER];
/* Striped locks: a 16-byte item cannot be swapped atomically without
 * libatomic, and the allocator calls, not this swap, are the point. */
static pthread_mutex_t stripe[16] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static uint64_t iters_per_thread;

static size_t pick_size(mallet_rng_t *r)
{
    uint64_t x = mallet_rng_below(r, 100);
    if (x == 0)
        return 1 + mallet_rng_below(r, 256 * 1024);  /* rare large block */
    if (x < 10)
        return 1 + mallet_rng_below(r, 4096);
    return 1 + mallet_rng_below(r, 128);
}

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    item_t *items = calloc(ITEMS, sizeof *items);
    size_t nitems = 0;
    for (uint64_t i = 0; i < iters_per_thread; i++) {
        uint64_t op = mallet_rng_below(&t->rng, 100);
        if (op < 50 || nitems == 0) {
            if (nitems < ITEMS) {
                size_t n = pick_size(&t->rng);
                items[nitems].p = bt_malloc(t, n);
                items[nitems++].n = n;
            }
        } else if (op < 60) {
            item_t *it = &items[mallet_rng_below(&t->rng, nitems)];
            size_t n = it->n + it->n / 2 + 1;
            void *q = bt_realloc(t, it->p, it->n, n);
            if (q) {
                it->p = q;
                it->n = n;
            }
        } else if (op < 70) {
            /* swap one of ours into the transfer array; free what was there */
            size_t k = mallet_rng_below(&t->rng, nitems);
            item_t mine = items[k];
            items[k] = items[--nitems];
            size_t slot = mallet_rng_below(&t->rng, TRANSFER);
            pthread_mutex_lock(&stripe[slot % 16]);
            item_t old = transfer[slot];
            transfer[slot] = mine;
            pthread_mutex_unlock(&stripe[slot % 16]);
            bt_free(t, old.p, old.n);
        } else {
            size_t k = mallet_rng_below(&t->rng, nitems);
            bt_free(t, items[k].p, items[k].n);
            items[k] = items[--nitems];
        }
    }
    for (size_t k = 0; k < nitems; k++)
        bt_free(t, items[k].p, items[k].n);
    free(items);
    return NULL;
}

static int run(mallet_bench_ctx_t *c)
{
    uint64_t rounds = mallet_bench_n(c, 40, 3);
    iters_per_thread = mallet_bench_n(c, 40000, 2000);
    for (uint64_t r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < c->threads; i++)
            mallet_rng_seed(&c->t[i].rng, c->seed + r, i + 1);
        int rc = mallet_bench_parallel(c, c->threads, worker);
        if (rc)
            return rc;
    }
    mallet_bench_thread_t *m = &c->t[c->threads];
    for (size_t k = 0; k < TRANSFER; k++) {
        bt_free(m, transfer[k].p, transfer[k].n);
        transfer[k].p = NULL;
    }
    return 0;
}

const mallet_bench_t mallet_bench_mstress = {
    "mstress", "rounds of short-lived threads: alloc, realloc, free, and transfers to later threads", true, run};
