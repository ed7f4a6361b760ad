/*
 * workload/rng.h — the harness's random numbers: xoshiro256** seeded by
 * splitmix64. Deterministic from a seed on every machine, so a workload is
 * the same sequence of requests for every backend it is run against.
 */
#ifndef MALLET_WORKLOAD_RNG_H
#define MALLET_WORKLOAD_RNG_H

#include <stdint.h>

typedef struct mallet_rng { uint64_t s[4]; } mallet_rng_t;

static inline uint64_t mallet_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Streams for different threads of one run: seed, stream 0, 1, 2, ... */
static inline void mallet_rng_seed(mallet_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = mallet_splitmix64(&x);
}

static inline uint64_t mallet_rng_next(mallet_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; bias is < 2^-32 for the n
 * the harness uses). */
static inline uint64_t mallet_rng_below(mallet_rng_t *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)mallet_rng_next(r) * n) >> 64);
}

/* Uniform in [0, 1). */
static inline double mallet_rng_unit(mallet_rng_t *r)
{
    return (double)(mallet_rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
