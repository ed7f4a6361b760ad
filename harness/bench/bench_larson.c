/*
 * bench/bench_larson.c — larson: a server simulation (Larson & Krishnan).
 * Each thread owns a table of blocks and keeps replacing random entries
 * with blocks of random size (8..1000 B); at every epoch the tables move
 * one thread along, so most frees happen on a thread other than the one
 * that allocated the block — the pattern that punishes allocators with
 * thread-local heaps and no remote-free path.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

enum { SLOTS = 1000, MIN_SIZE = 8, MAX_SIZE = 1000 };

typedef struct slot { void *p; size_t n; } slot_t;
static slot_t *tables[MALLET_BENCH_MAX_THREADS];
static pthread_barrier_t barrier;
static uint64_t epochs, rounds;
static unsigned nthreads;

static void *worker(void *arg)
{
    mallet_bench_thread_t *t = arg;
    for (uint64_t e = 0; e < epochs; e++) {
        slot_t *tab = tables[(t->index + e) % nthreads];
        for (uint64_t r = 0; r < rounds; r++) {
            slot_t *s = &tab[mallet_rng_below(&t->rng, SLOTS)];
            bt_free(t, s->p, s->n);
            s->n = MIN_SIZE + mallet_rng_below(&t->rng, MAX_SIZE - MIN_SIZE + 1);
            s->p = bt_malloc(t, s->n);
            if (s->p)
                ((char *)s->p)[0] = (char)r;
        }
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

static int run(mallet_bench_ctx_t *c)
{
    nthreads = c->threads;
    epochs = mallet_bench_n(c, 40, 4);
    rounds = mallet_bench_n(c, 150000, 2000);
    mallet_bench_thread_t *main_t = &c->t[c->threads];
    for (unsigned i = 0; i < nthreads; i++) {
        tables[i] = calloc(SLOTS, sizeof(slot_t));
        for (unsigned k = 0; k < SLOTS; k++) {
            tables[i][k].n = MIN_SIZE + mallet_rng_below(&main_t->rng, MAX_SIZE - MIN_SIZE + 1);
            tables[i][k].p = bt_malloc(main_t, tables[i][k].n);
        }
    }
    pthread_barrier_init(&barrier, NULL, nthreads);
    int rc = mallet_bench_parallel(c, nthreads, worker);
    pthread_barrier_destroy(&barrier);
    for (unsigned i = 0; i < nthreads; i++) {
        for (unsigned k = 0; k < SLOTS; k++)
            bt_free(main_t, tables[i][k].p, tables[i][k].n);
        free(tables[i]);
    }
    return rc;
}

const mallet_bench_t mallet_bench_larson = {
    "larson", "server simulation: random 8-1000 B blocks, tables passed between threads (remote frees)", true, run};
