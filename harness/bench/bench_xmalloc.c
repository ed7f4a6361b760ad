/*
 * bench/bench_xmalloc.c — xmalloc-test: producer threads allocate, consumer
 * threads free. Every block is freed by a thread that did not allocate it,
 * in batches handed over through a shared queue.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

enum { BATCH = 256 };

typedef struct batch {
    struct batch *next;
    unsigned n;
    void *p[BATCH];
    size_t sz[BATCH];
} batch_t;

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static batch_t *queue;
static unsigned producers_left, nproducers;
static uint64_t batches_per_producer;

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    if (t->index < nproducers) {
        for (uint64_t b = 0; b < batches_per_producer; b++) {
            batch_t *bt = malloc(sizeof *bt); /* harness bookkeeping: not measured */
            bt->n = BATCH;
            for (unsigned i = 0; i < BATCH; i++) {
                /* xmalloc-test's sizes: mostly small, occasionally up to 1 KiB */
                bt->sz[i] = (mallet_rng_next(&t->rng) & 15) ? 8 + mallet_rng_below(&t->rng, 120)
                                                            : 128 + mallet_rng_below(&t->rng, 897);
                bt->p[i] = bt_malloc(t, bt->sz[i]);
            }
            pthread_mutex_lock(&qlock);
            bt->next = queue;
            queue = bt;
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
        if (bt)
            queue = bt->next;
        pthread_mutex_unlock(&qlock);
        if (bt == NULL)
            return NULL;
        for (unsigned i = 0; i < bt->n; i++)
            bt_free(t, bt->p[i], bt->sz[i]);
        free(bt);
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
    batches_per_producer = mallet_bench_n(c, 6000 / nproducers, 40);
    return mallet_bench_parallel(c, threads, worker);
}

const mallet_bench_t mallet_bench_xmalloc = {
    "xmalloc", "producer/consumer: half the threads allocate, the other half free", true, run};
