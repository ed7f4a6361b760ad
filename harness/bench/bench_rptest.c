/*
 * bench/bench_rptest.c — rptest-like (rpmalloc's benchmark): every thread
 * keeps a working set of blocks of random size 8 B-16 KiB (small sizes
 * more likely), replaces them at random, and hands a share of its blocks
 * to the next thread's inbox to be freed there.
 */
#include <pthread.h>
#include <stdlib.h>

#include "bench/bench.h"

enum { WORKING_SET = 2000, INBOX = 512 };

typedef struct item { void *p; size_t n; } item_t;
typedef struct inbox {
    pthread_mutex_t lock;
    unsigned n;
    item_t items[INBOX];
} __attribute__((aligned(128))) inbox_t;

static inbox_t inboxes[MALLET_BENCH_MAX_THREADS];
static unsigned nthreads;
static uint64_t rounds;

static size_t rp_size(mallet_rng_t *r)
{
    /* 8 B .. 16 KiB, log-uniform: as many blocks per doubling */
    unsigned shift = 3 + (unsigned)mallet_rng_below(r, 11);
    return ((size_t)1 << shift) + mallet_rng_below(r, (size_t)1 << shift);
}

static void drain(mallet_bench_thread_t *t, inbox_t *in)
{
    item_t local[INBOX];
    pthread_mutex_lock(&in->lock);
    unsigned n = in->n;
    for (unsigned i = 0; i < n; i++)
        local[i] = in->items[i];
    in->n = 0;
    pthread_mutex_unlock(&in->lock);
    for (unsigned i = 0; i < n; i++)
        bt_free(t, local[i].p, local[i].n);
}

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    item_t *ws = calloc(WORKING_SET, sizeof *ws);
    inbox_t *next = &inboxes[(t->index + 1) % nthreads];
    for (uint64_t r = 0; r < rounds; r++) {
        item_t *it = &ws[mallet_rng_below(&t->rng, WORKING_SET)];
        if (it->p && (r & 7) == 0) {
            /* give it away: the next thread frees it */
            pthread_mutex_lock(&next->lock);
            if (next->n < INBOX) {
                next->items[next->n++] = *it;
                it->p = NULL;
            }
            pthread_mutex_unlock(&next->lock);
        }
        bt_free(t, it->p, it->n);
        it->n = rp_size(&t->rng);
        it->p = bt_malloc(t, it->n);
        if ((r & 255) == 0)
            drain(t, &inboxes[t->index]);
    }
    for (unsigned i = 0; i < WORKING_SET; i++)
        bt_free(t, ws[i].p, ws[i].n);
    free(ws);
    return NULL;
}

static int run(mallet_bench_ctx_t *c)
{
    nthreads = c->threads;
    rounds = mallet_bench_n(c, 4500000 / nthreads, 5000);
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_mutex_init(&inboxes[i].lock, NULL);
        inboxes[i].n = 0;
    }
    int rc = mallet_bench_parallel(c, nthreads, worker);
    for (unsigned i = 0; i < nthreads; i++)
        drain(&c->t[c->threads], &inboxes[i]);
    return rc;
}

const mallet_bench_t mallet_bench_rptest = {
    "rptest", "random 8 B-16 KiB working sets with cross-thread frees (rpmalloc's test)", true, run};
