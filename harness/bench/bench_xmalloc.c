/*
 * bench/bench_xmalloc.c — xmalloc-test: producer threads allocate, consumer
 * threads free. Every block is freed by a thread that did not allocate it,
 * in batches handed over through a shared queue.
 *
 * The batches (4 KiB of bookkeeping each) come from one pool taken before
 * the threads start and are recycled under the queue lock; they are never
 * malloc'd per batch. With `sys` the backend under test is the process's
 * malloc, and bookkeeping blocks interleaved with the measured ones would
 * be charged to sys alone (with them and the unbounded queue below, sys's
 * peak RSS was 4x ptmalloc's).
 *
 * At most MAX_QUEUED batches wait in the queue; a producer that gets that
 * far ahead waits for a consumer. Unbounded, the peak RSS measured how far
 * the scheduler let the producers run ahead (one backend's runs spread
 * 24-154 MiB), not what the allocator does with blocks freed elsewhere.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

enum { BATCH = 256, MAX_QUEUED = 64 }; /* 64 x 256 blocks in flight, ~2 MiB requested */

typedef struct batch {
    struct batch *next;
    unsigned n;
    void *p[BATCH];
    size_t sz[BATCH];
} batch_t;

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;  /* a batch was queued, or producers finished */
static pthread_cond_t qspace = PTHREAD_COND_INITIALIZER; /* the queue dropped below MAX_QUEUED */
static batch_t *queue;
static unsigned queued;
static unsigned producers_left, nproducers;
static uint64_t batches_per_producer;
/* Bookkeeping pool: `pool_used` never-used entries handed out so far,
 * then freed ones from `pool_free` (both under qlock). One big block: the
 * system malloc maps it, and pages are touched only as batches are. */
static batch_t *pool, *pool_free;
static size_t pool_used, pool_cap;

static batch_t *batch_get(void) /* under qlock */
{
    batch_t *bt = pool_free;
    if (bt)
        pool_free = bt->next;
    else if (pool_used < pool_cap)
        bt = &pool[pool_used++];
    return bt;
}

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    if (t->index < nproducers) {
        for (uint64_t b = 0; b < batches_per_producer; b++) {
            pthread_mutex_lock(&qlock);
            batch_t *bt = batch_get(); /* never NULL: the pool holds every batch */
            pthread_mutex_unlock(&qlock);
            bt->n = BATCH;
            for (unsigned i = 0; i < BATCH; i++) {
                /* xmalloc-test's sizes: mostly small, occasionally up to 1 KiB */
                bt->sz[i] = (mallet_rng_next(&t->rng) & 15) ? 8 + mallet_rng_below(&t->rng, 120)
                                                            : 128 + mallet_rng_below(&t->rng, 897);
                bt->p[i] = bt_malloc(t, bt->sz[i]);
            }
            pthread_mutex_lock(&qlock);
            while (queued >= MAX_QUEUED)
                pthread_cond_wait(&qspace, &qlock);
            bt->next = queue;
            queue = bt;
            queued++;
            pthread_cond_signal(&qcond);
            pthread_mutex_unlock(&qlock);
        }
        pthread_mutex_lock(&qlock);
        producers_left--;
        pthread_cond_broadcast(&qcond);
        pthread_mutex_unlock(&qlock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (queue == NULL && producers_left > 0)
            pthread_cond_wait(&qcond, &qlock);
        batch_t *bt = queue;
        if (bt) {
            queue = bt->next;
            queued--;
            pthread_cond_signal(&qspace);
        }
        pthread_mutex_unlock(&qlock);
        if (bt == NULL)
            return NULL;
        for (unsigned i = 0; i < bt->n; i++)
            bt_free(t, bt->p[i], bt->sz[i]);
        pthread_mutex_lock(&qlock);
        bt->next = pool_free;
        pool_free = bt;
        pthread_mutex_unlock(&qlock);
    }
}

static int run(mallet_bench_ctx_t *c)
{
    unsigned threads = c->threads < 2 ? 2 : c->threads;
    if (threads > c->threads) {
        fprintf(stderr, "xmalloc: needs 2 threads, have %u\n", c->threads);
        return 1;
    }
    nproducers = threads / 2;
    producers_left = nproducers;
    queue = NULL;
    queued = 0;
    batches_per_producer = mallet_bench_n(c, 6000 / nproducers, 40);
    pool_cap = batches_per_producer * nproducers;
    pool = malloc(pool_cap * sizeof *pool);
    if (pool == NULL) {
        fprintf(stderr, "xmalloc: no memory for %zu batches of bookkeeping\n", pool_cap);
        return 1;
    }
    pool_used = 0;
    pool_free = NULL;
    int rc = mallet_bench_parallel(c, threads, worker);
    free(pool);
    return rc;
}

const mallet_bench_t mallet_bench_xmalloc = {
    "xmalloc", "producer/consumer: half the threads allocate, the other half free (64 batches in flight at most)",
    true, run};
