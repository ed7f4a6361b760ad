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
 *
 * While the process has only ever had one thread (glibc's
 * __libc_single_threaded, which glibc's own malloc uses the same way to
 * skip its arena lock) the lock word is still set and cleared, so the
 * lock keeps its state for trylock and for the fork handlers, but with
 * plain (relaxed) stores: the lock-prefixed compare-exchange and exchange
 * cost more than the rest of a last-free-cache hit, and nobody can be
 * waiting. The flag turns false inside the first pthread_create, before
 * the new thread exists and never while this thread holds a magazine lock
 * (the zone creates no threads), and pthread_create orders everything
 * before it for the new thread; from then on the atomic protocol is used.
 */
#ifndef MALLET_SCALABLE_LOCK_H
#define MALLET_SCALABLE_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "os/os.h"

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
    if (mallet_os_single_threaded_inline() && __atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0) {
        __atomic_store_n(&l->word, 1, __ATOMIC_RELAXED);
        return;
    }
    /* (A held lock with one thread is a bug: the slow path deadlocks as
     * the atomic path would.) */
    if (__builtin_expect(!sz_trylock(l), 0))
        sz_lock_slow(l);
}
static inline void sz_unlock(sz_lock_t *l)
{
    if (mallet_os_single_threaded_inline()) {
        __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED); /* no one can wait */
        return;
    }
    if (__builtin_expect(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2, 0))
        sz_lock_wake(l);
}

#endif /* MALLET_SCALABLE_LOCK_H */
