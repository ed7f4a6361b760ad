/*
 * scalable_lock.h — the magazine lock (ALLOCATOR_REFERENCE §C.2).
 *
 * libmalloc guards magazines with os_unfair_lock: a one-word lock whose
 * uncontended acquire and release are a single atomic each, and whose
 * waiters sleep in the kernel. This is the Linux counterpart: a futex
 * word, 0 free, 1 held, 2 held with (possible) sleepers. A contended
 * acquire spins briefly first (magazine critical sections are short and
 * the holder is usually running on another CPU), then sleeps on the futex.
 * pthread_mutex_t costs three times the instructions on the uncontended
 * path and does not spin. TSan sees the acquire/release atomics.
 */
#ifndef MALLET_SCALABLE_LOCK_H
#define MALLET_SCALABLE_LOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sz_lock {
    uint32_t word;
} sz_lock_t;

void sz_lock_slow(sz_lock_t *l);
void sz_lock_wake(sz_lock_t *l);

static inline void sz_lock_init(sz_lock_t *l)
{
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}
/* After fork in the child: the holder may not exist there. */
static inline void sz_lock_reinit(sz_lock_t *l)
{
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}
static inline bool sz_trylock(sz_lock_t *l)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}
static inline void sz_lock(sz_lock_t *l)
{
    if (__builtin_expect(!sz_trylock(l), 0))
        sz_lock_slow(l);
}
static inline void sz_unlock(sz_lock_t *l)
{
    if (__builtin_expect(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2, 0))
        sz_lock_wake(l);
}

#endif /* MALLET_SCALABLE_LOCK_H */
