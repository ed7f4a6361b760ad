/*
 * bench/latency.h — a low-overhead latency histogram (HDR-style: 16
 * linear sub-buckets per power of two, so every bucket is within 6.25% of
 * its values). Benchmarks time one operation in every
 * MALLET_LATENCY_SAMPLE with the vDSO clock, so timing costs well under
 * 1 ns per operation on average and the histogram stays thread-private.
 */
#ifndef MALLET_BENCH_LATENCY_H
#define MALLET_BENCH_LATENCY_H

#include <stdint.h>

#define MALLET_LATENCY_SAMPLE 64
#define MALLET_LATENCY_BUCKETS (64 * 16)

typedef struct mallet_latency {
    uint64_t count, max_ns;
    uint64_t bucket[MALLET_LATENCY_BUCKETS];
} mallet_latency_t;

static inline unsigned mallet_latency_bucket(uint64_t ns)
{
    if (ns < 16)
        return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    return (msb - 3) * 16 + (unsigned)((ns >> (msb - 4)) & 15);
}

static inline void mallet_latency_add(mallet_latency_t *h, uint64_t ns)
{
    h->bucket[mallet_latency_bucket(ns)]++;
    h->count++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void mallet_latency_merge(mallet_latency_t *into, const mallet_latency_t *from);
/* Value at quantile q in [0,1] (upper edge of its bucket); 0 if empty. */
uint64_t mallet_latency_quantile(const mallet_latency_t *h, double q);

#endif
