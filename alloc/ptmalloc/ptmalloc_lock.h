/*
 * ptmalloc_lock.h — the arena lock (internal; glibc's __libc_lock on
 * malloc_state.mutex).
 *
 * Why not mallet_lock_t (a pthread mutex): glibc's arena lock is its
 * low-level lock, a compare-and-swap inlined into malloc and free, and an
 * exchange to release it; a pthread mutex call pair costs tens of
 * instructions more (owner and user counts, type dispatch, two calls),
 * which callgrind showed as a fifth of mallet's cost on the arena paths
 * (results/2026-11-25_ptmalloc_perf). So: the same three-state word as
 * glibc's lll_lock (0 free, 1 held, 2 held and maybe waited for), taken
 * and released inline. A thread that has to wait sleeps on a condition
 * variable instead of a futex, so only portable primitives are used; the
 * waiter marks the word 2 while holding the side mutex, so the releasing
 * thread, which sees the 2 and signals under that mutex, cannot signal
 * before the waiter waits.
 *
 * Memory order: the successful compare-and-swap acquires and the release
 * exchange releases, which is what ThreadSanitizer needs to see the
 * critical sections ordered.
 */
#ifndef MALLET_PTMALLOC_LOCK_H
#define MALLET_PTMALLOC_LOCK_H

#include <pthread.h>
#include <stdbool.h>

typedef struct pt_lock {
    int word;              /* 0 free, 1 held, 2 held with (possible) waiters */
    pthread_mutex_t side;  /* waiters only */
    pthread_cond_t wake;
} pt_lock_t;

/* A zero-filled pt_lock_t is not ready: init (or reinit) first. */
static inline void pt_lock_init(pt_lock_t *l)
{
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
    pthread_mutex_init(&l->side, NULL);
    pthread_cond_init(&l->wake, NULL);
}

static inline void pt_lock_wait(pt_lock_t *l)
{
    pthread_mutex_lock(&l->side);
    while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
        pthread_cond_wait(&l->wake, &l->side);
    pthread_mutex_unlock(&l->side);
}

static inline void pt_lock(pt_lock_t *l)
{
    int expected = 0;
    if (__builtin_expect(!__atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE,
                                                      __ATOMIC_RELAXED), 0))
        pt_lock_wait(l);
}

static inline bool pt_trylock(pt_lock_t *l)
{
    int expected = 0;
    return __atomic_compare_exchange_n(&l->word, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void pt_unlock(pt_lock_t *l)
{
    if (__builtin_expect(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2, 0)) {
        pthread_mutex_lock(&l->side);
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->side);
    }
}

#endif /* MALLET_PTMALLOC_LOCK_H */
