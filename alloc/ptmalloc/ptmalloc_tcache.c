/*
 * ptmalloc_tcache.c — the per-thread cache (ALLOCATOR_REFERENCE.md §D.3).
 *
 * 64 bins of up to tcache_count (default 7) chunks, by chunk size
 * 32..1040 in steps of 16. The cache struct itself is a chunk taken from
 * the thread's arena on first use, as in glibc. Entries overlay the user
 * data: next is safe-linked (PROTECT_PTR), key holds the instance's random
 * tcache_key while the chunk sits in a cache — free() seeing that key
 * scans the bin for the chunk to catch a double free cheaply.
 * Only the owning thread touches its cache, so no locks.
 */
#include "ptmalloc/ptmalloc_arena.h"

/* The common paths (get, put, the free-side key test) are inline in
 * ptmalloc_fast.h; what follows is what they call in the rare cases. */

bool pt_tcache_entry_bad(pt_inst_t *inst, pt_tentry_t *e, size_t idx)
{
    mchunkptr p = pt_mem2chunk(e);
    pt_arena_t *av = pt_owner_of_chunk(inst, p);
    pt_tentry_t *next = PT_REVEAL_PTR(e->next);
    if (av == NULL || pt_chunksize(p) != PT_MINSIZE + idx * PT_ALIGNMENT ||
        (next != NULL && pt_aligned_ok((uintptr_t)next) && !pt_owner_of_chunk(inst, pt_mem2chunk(next)))) {
        pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, e, "malloc(): corrupted tcache entry (hardened)");
        return true;
    }
    return false;
}

int pt_tcache_double_free_scan(pt_inst_t *inst, pt_tcache_t *tc, mchunkptr p, size_t idx)
{
    pt_tentry_t *e = (pt_tentry_t *)pt_chunk2mem(p);
    size_t cnt = 0;
    for (pt_tentry_t *tmp = tc->entries[idx]; tmp; tmp = PT_REVEAL_PTR(tmp->next), ++cnt) {
        if (cnt >= inst->mp.tcache_count) {
            pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(p), "free(): too many chunks detected in tcache");
            return -1;
        }
        if (PT_UNLIKELY(!pt_aligned_ok((uintptr_t)tmp))) {
            pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, tmp, "free(): unaligned chunk detected in tcache 2");
            return -1;
        }
        if (tmp == e) {
            pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "free(): double free detected in tcache 2");
            return -1;
        }
    }
    return 0;
}

/* glibc tcache_init: the struct is an ordinary chunk of the thread's arena. */
void pt_tcache_init(pt_inst_t *inst, pt_tstate_t *ts)
{
    const size_t bytes = sizeof(pt_tcache_t);
    if (inst->poisoned)
        return;
    pt_arena_t *av = pt_arena_get(inst, ts, bytes);
    void *victim = av ? pt_int_malloc(inst, av, bytes, NULL) : NULL;
    if (!victim && av != NULL && !inst->poisoned) {
        av = pt_arena_get_retry(inst, ts, av, bytes);
        victim = av ? pt_int_malloc(inst, av, bytes, NULL) : NULL;
    }
    if (av != NULL)
        pt_unlock(&av->mutex);
    if (victim) {
        memset(victim, 0, bytes);
        ts->tcache = victim;
    }
}

/* Thread exit: give every cached chunk back to its arena, then the cache. */
void pt_tcache_thread_shutdown(pt_inst_t *inst, pt_tstate_t *ts)
{
    pt_tcache_t *tc = ts->tcache;
    if (tc == NULL) {
        ts->tcache_shutting_down = true;
        return;
    }
    ts->tcache = NULL;
    ts->tcache_shutting_down = true;
    for (size_t i = 0; i < PT_TCACHE_MAX_BINS; ++i) {
        while (tc->entries[i]) {
            pt_tentry_t *e = tc->entries[i];
            if (PT_UNLIKELY(!pt_aligned_ok((uintptr_t)e))) {
                pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, e,
                         "tcache_thread_shutdown(): unaligned tcache chunk detected");
                return;
            }
            tc->entries[i] = PT_REVEAL_PTR(e->next);
            e->key = 0;
            pt_free(inst, e);
            if (inst->poisoned)
                return;
        }
    }
    pt_free(inst, tc);
}
