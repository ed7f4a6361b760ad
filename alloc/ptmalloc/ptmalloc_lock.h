/*
 * ptmalloc_lock.h — the arena lock (internal; glibc's __libc_lock on
 * malloc_state.mutex).
 *
 * glibc's arena lock is its low-level lock, lll_lock: one futex word,
 * 0 free, 1 held, 2 held and maybe waited for. Taking it is a
 * compare-and-swap 0 -> 1 inlined into malloc and free; a thread that
 * loses sets the word to 2 and sleeps on the futex until the exchange
 * that takes it back from 0 succeeds (no spinning, as __lll_lock_wait);
 * releasing is an exchange to 0, and a release that saw 2 wakes one
 * sleeper. This is the same protocol. (An earlier version slept on a
 * pthread condition variable behind a side mutex to stay portable: every
 * contended hand-over then took two more mutex operations and a signal,
 * which made the two-thread benchmarks wait longer than glibc does.)
 *
 * Memory order: the successful compare-and-swap and the waiter's exchange
 * acquire, the release exchange releases: what ThreadSanitizer needs to
 * see the critical sections ordered (it does not model the futex, which
 * only sleeps).
 */
#ifndef MALLET_PTMALLOC_LOCK_H
#define MALLET_PTMALLOC_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "os/os.h"

typedef struct pt_lock {
    uint32_t word; /* 0 free, 1 held, 2 held with (possible) waiters */
} pt_lock_t;

/* Also after fork in the child, where a holder may not exist. */
static inline void pt_lock_init(pt_lock_t *l)
{
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

static __attribute__((noinline, cold, unused)) void pt_lock_wait(pt_lock_t *l)
{
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 2)
        mallet_os_futex_wait(&l->word, 2);
    while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
        mallet_os_futex_wait(&l->word, 2);
}

static inline void pt_lock(pt_lock_t *l)
{
    uint32_t expected = 0;
    if (__builtin_expect(!__atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                                      __ATOMIC_RELAXED), 0))
        pt_lock_wait(l);
}

static inline bool pt_trylock(pt_lock_t *l)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void pt_unlock(pt_lock_t *l)
{
    if (__builtin_expect(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2, 0))
        mallet_os_futex_wake(&l->word, 1);
}

#endif /* MALLET_PTMALLOC_LOCK_H */
