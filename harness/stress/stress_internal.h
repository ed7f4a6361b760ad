/*
 * stress/stress_internal.h — the zone wrapper the stress runs use.
 *
 * A stress_zone_t is a zone from the backend (a fresh instance where the
 * backend has MALLET_CAP_INSTANCES, else its default zone) called through
 * the front end (mallet/mallet.h). When the zone does not claim
 * MALLET_CAP_THREAD_SAFE every call is serialised by one lock: the zone is
 * held to exactly what it promises.
 */
#ifndef MALLET_STRESS_INTERNAL_H
#define MALLET_STRESS_INTERNAL_H

#include <pthread.h>

#include "mallet/mallet.h"
#include "stress/stress.h"
#include "workload/rng.h"

typedef struct stress_zone {
    const mallet_backend_t *b;
    mallet_zone_t *z;
    bool owned;       /* created by us: destroy at close */
    bool serialised;  /* not thread-safe: calls under `lock` */
    pthread_mutex_t lock;
} stress_zone_t;

int stress_zone_open(stress_zone_t *sz, const mallet_backend_t *b, char *err, size_t len);
void stress_zone_close(stress_zone_t *sz);

#define SZ_CALL(sz, expr)                          \
    do {                                           \
        if ((sz)->serialised)                      \
            pthread_mutex_lock(&(sz)->lock);       \
        expr;                                      \
        if ((sz)->serialised)                      \
            pthread_mutex_unlock(&(sz)->lock);     \
    } while (0)

static inline void *stress_zone_malloc(stress_zone_t *sz, size_t n)
{
    void *p;
    SZ_CALL(sz, p = mallet_malloc(sz->z, n));
    return p;
}
static inline void *stress_zone_calloc(stress_zone_t *sz, size_t c, size_t n)
{
    void *p;
    SZ_CALL(sz, p = mallet_calloc(sz->z, c, n));
    return p;
}
static inline void *stress_zone_realloc(stress_zone_t *sz, void *old, size_t n)
{
    void *p;
    SZ_CALL(sz, p = mallet_realloc(sz->z, old, n));
    return p;
}
static inline void *stress_zone_memalign(stress_zone_t *sz, size_t a, size_t n)
{
    void *p;
    SZ_CALL(sz, p = mallet_memalign(sz->z, a, n));
    return p;
}
static inline void *stress_zone_aligned_alloc(stress_zone_t *sz, size_t a, size_t n)
{
    void *p;
    SZ_CALL(sz, p = mallet_aligned_alloc(sz->z, a, n));
    return p;
}
static inline int stress_zone_posix_memalign(stress_zone_t *sz, void **out, size_t a, size_t n)
{
    int rc;
    SZ_CALL(sz, rc = mallet_posix_memalign(sz->z, out, a, n));
    return rc;
}
static inline void stress_zone_free(stress_zone_t *sz, void *p)
{
    SZ_CALL(sz, mallet_free(sz->z, p));
}
static inline int stress_zone_check(stress_zone_t *sz)
{
    int ok;
    SZ_CALL(sz, ok = mallet_check(sz->z));
    return ok;
}

/* A size from the six tiers (see stress_mt.c); allow_huge adds 1..9 MiB. */
size_t stress_random_size(mallet_rng_t *r, bool allow_huge);

int stress_mt(const mallet_backend_t *b, const stress_config_t *cfg);

#endif
