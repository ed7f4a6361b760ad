/*
 * bench/latency.c — merging and reading latency histograms.
 */
#include "bench/latency.h"

void mallet_latency_merge(mallet_latency_t *into, const mallet_latency_t *from)
{
    for (unsigned i = 0; i < MALLET_LATENCY_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

/* Upper edge of bucket i: the inverse of mallet_latency_bucket. */
static uint64_t bucket_top(unsigned i)
{
    if (i < 16)
        return i;
    unsigned msb = i / 16 + 3, sub = i % 16;
    return ((16ull + sub + 1) << (msb - 4)) - 1;
}

uint64_t mallet_latency_quantile(const mallet_latency_t *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        return h->max_ns;
    uint64_t seen = 0;
    for (unsigned i = 0; i < MALLET_LATENCY_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen > want) {
            uint64_t top = bucket_top(i);
            return top < h->max_ns ? top : h->max_ns;
        }
    }
    return h->max_ns;
}
