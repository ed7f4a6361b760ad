/*
 * perf_driver.c — a small single-threaded driver for measuring the scalable
 * zone's fast paths under `valgrind --tool=callgrind` (not a test; see
 * alloc/libmalloc/scalable/PERF_NOTES.md). Usage:
 *
 *     scalable-perf-driver MODE [N] [BACKEND]
 *
 * MODE:
 *   pair     malloc(48); free — the last-free cache hit path
 *   lifo     64 blocks of 16-256 B allocated, then freed in LIFO order
 *   fifo     window of 1000 blocks of 16-1008 B, freed FIFO (free-list pop)
 *   random   4096 slots of 8-1000 B replaced at random (coalescing)
 *   small    window of 256 blocks of 1-32 KiB replaced at random
 *   churn    1000 slots of 16-256 B replaced at random (the small-churn
 *            benchmark's workload)
 * With MALLET_DRIVER_THREADED=1 in the environment a thread is started
 * (and joined) first, so the process is no longer single-threaded and the
 * magazine locks take their atomic path, as in `mallet bench`, whose
 * benchmarks always run on worker threads.
 * N is the number of malloc/free pairs (default 1,000,000). Each operation
 * count reported by callgrind can be divided by N (the setup is a fixed
 * small cost; run with two N and subtract for exact per-op numbers).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mallet/mallet.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void *nothing(void *arg) { return arg; }

int main(int argc, char **argv)
{
    const char *threaded = getenv("MALLET_DRIVER_THREADED");
    if (threaded && *threaded == '1') {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) == 0)
            pthread_join(t, NULL);
    }
    const char *mode = argc > 1 ? argv[1] : "pair";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    const char *backend = argc > 3 ? argv[3] : "scalable";
    char err[256] = "";
    mallet_zone_t *z = mallet_zone_create(backend, NULL, err, sizeof err);
    if (z == NULL) {
        fprintf(stderr, "cannot create zone %s: %s\n", backend, err);
        return 1;
    }
    static void *slots[4096];
    uintptr_t sink = 0;
    if (strcmp(mode, "pair") == 0) {
        for (long i = 0; i < n; i++) {
            void *p = mallet_malloc(z, 48);
            sink += (uintptr_t)p;
            mallet_free(z, p);
        }
    } else if (strcmp(mode, "lifo") == 0) {
        for (long i = 0; i < n; i += 64) {
            for (int j = 0; j < 64; j++)
                slots[j] = mallet_malloc(z, 16 + next() % 241);
            for (int j = 63; j >= 0; j--)
                mallet_free(z, slots[j]);
        }
    } else if (strcmp(mode, "fifo") == 0) {
        const long w = 1000;
        for (long i = 0; i < n + w; i++) {
            if (i >= w)
                mallet_free(z, slots[i % w]);
            if (i < n)
                slots[i % w] = mallet_malloc(z, 16 + next() % 993);
        }
    } else if (strcmp(mode, "random") == 0 || strcmp(mode, "small") == 0 || strcmp(mode, "churn") == 0) {
        bool small = mode[0] == 's', churn = mode[0] == 'c';
        unsigned nslots = small ? 256 : churn ? 1000 : 4096;
        for (long i = 0; i < n; i++) {
            unsigned s = (unsigned)(next() % nslots);
            mallet_free(z, slots[s]);
            slots[s] = mallet_malloc(z, small   ? 1024 + next() % (31 * 1024)
                                        : churn ? 16 + next() % 241
                                                : 8 + next() % 993);
        }
        for (unsigned s = 0; s < nslots; s++)
            mallet_free(z, slots[s]);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    mallet_zone_destroy(z);
    return sink == 1; /* keep the pair loop honest */
}
