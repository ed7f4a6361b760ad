/*
 * bench/bench_support.c — threads and live-byte tracking for benchmarks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "bench/bench.h"

int mallet_bench_parallel(mallet_bench_ctx_t *c, unsigned threads, void *(*fn)(void *))
{
    pthread_t tid[MALLET_BENCH_MAX_THREADS];
    if (threads > MALLET_BENCH_MAX_THREADS)
        return EINVAL;
    if (threads == 1 && c->main_thread) {
        fn(&c->t[0]);
        return 0;
    }
    unsigned started = 0;
    int rc = 0;
    for (; started < threads; started++) {
        rc = pthread_create(&tid[started], NULL, fn, &c->t[started]);
        if (rc != 0) {
            fprintf(stderr, "bench: cannot start thread %u: error %d\n", started, rc);
            break;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    return rc;
}

void mallet_bench_note_live(mallet_bench_thread_t *t)
{
    mallet_bench_ctx_t *c = t->ctx;
    int64_t sum = 0;
    /* Other threads' counters are read racily on purpose: this is a
     * sampled estimate of the peak, and atomics on every operation would
     * cost more than the allocator calls being measured. */
    for (unsigned i = 0; i <= c->threads; i++)
        sum += __atomic_load_n(&c->t[i].live, __ATOMIC_RELAXED);
    int64_t peak = __atomic_load_n(&c->peak_live, __ATOMIC_RELAXED);
    while (sum > peak && !__atomic_compare_exchange_n(&c->peak_live, &peak, sum, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}
