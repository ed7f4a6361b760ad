/*
 * ptmalloc_fast.h — the inline fast paths every call takes: the owner
 * lookup of a chunk, and the tcache's get / put / free-side check
 * (internal; included at the end of ptmalloc_arena.h).
 *
 * Why inline: glibc's __libc_malloc serves a tcache hit in about twenty
 * instructions, tcache_get inlined before any arena work, and free's
 * tcache_put likewise. Behind out-of-line calls with hardened-mode
 * branches in them, the same work cost mallet about twice that
 * (results/2026-11-25_ptmalloc_perf). So the common case is kept here,
 * small and branch-light, and everything rare — hardened checks, the
 * tcache double-free scan, registry walks — stays out of line in the .c
 * files, with the same checks and the same messages as before.
 *
 * Owner lookup: glibc trusts the chunk header (chunk_main_arena bit, then
 * heap_for_ptr's mask). mallet must not read a header before it knows the
 * pointer is its own, so it asks its registries; the two common answers
 * are a range compare (main arena's emulated brk) and the first probe of
 * the heap table (a 64 MiB-aligned base: it covers the whole mask range,
 * so no other mapping of this instance can hold the address). Anything
 * else goes to the full walk, pt_owner_of_chunk.
 */
#ifndef MALLET_PTMALLOC_FAST_H
#define MALLET_PTMALLOC_FAST_H

/* Slot of a heap base in inst->heaps (open addressing, linear probing). */
static inline size_t pt_heap_hash(uintptr_t base)
{
    return (size_t)((base >> 26) * 0x9E3779B1u) & (PT_HEAP_SLOTS - 1);
}

/* The two common answers of pt_owner_of_chunk, with no call: the arena,
 * or NULL when p is in neither the brk range nor a heap found by the first
 * probe (then pt_owner_of_chunk decides; it may well say NULL too). */
static inline pt_arena_t *pt_owner_quick(pt_inst_t *inst, mchunkptr p)
{
    uintptr_t a = (uintptr_t)p;
    if (PT_LIKELY(a >= (uintptr_t)inst->brk_base) &&
        PT_LIKELY(a + PT_HDR <= (uintptr_t)__atomic_load_n(&inst->brk_cur, __ATOMIC_RELAXED)))
        return &inst->main_arena;
    uintptr_t hb = a & ~(PT_HEAP_MAX_SIZE - 1);
    if (PT_LIKELY(__atomic_load_n(&inst->heaps[pt_heap_hash(hb)], __ATOMIC_ACQUIRE) == hb)) {
        pt_heap_info_t *h = (pt_heap_info_t *)hb;
        if (a >= hb + sizeof(pt_heap_info_t) && a + PT_HDR <= hb + __atomic_load_n(&h->size, __ATOMIC_RELAXED))
            return h->ar_ptr;
    }
    return NULL;
}

/* Same answer as pt_owner_of_chunk: the arena whose committed memory holds
 * p's 16-byte header, or NULL. */
static inline pt_arena_t *pt_owner_fast(pt_inst_t *inst, mchunkptr p)
{
    pt_arena_t *av = pt_owner_quick(inst, p);
    return PT_LIKELY(av != NULL) ? av : pt_owner_of_chunk(inst, p);
}

/* ---- tcache ------------------------------------------------------------------ */

/* Hardened mode's look at an entry before it is handed out (ptmalloc_tcache.c). */
bool pt_tcache_entry_bad(pt_inst_t *inst, pt_tentry_t *e, size_t idx);
/* free() met a chunk carrying the tcache key: scan its bin (ptmalloc_tcache.c).
 * -1 = error reported, 0 = not in the cache after all. */
int pt_tcache_double_free_scan(pt_inst_t *inst, pt_tcache_t *tc, mchunkptr p, size_t idx);

static inline void pt_tcache_put(pt_inst_t *inst, pt_tcache_t *tc, mchunkptr p, size_t idx)
{
    pt_tentry_t *e = (pt_tentry_t *)pt_chunk2mem(p);
    e->key = inst->tcache_key;
    e->next = PT_PROTECT_PTR(&e->next, tc->entries[idx]);
    tc->entries[idx] = e;
    ++tc->counts[idx];
}

/* NULL after an error was reported. */
static inline void *pt_tcache_get(pt_inst_t *inst, pt_tcache_t *tc, size_t idx)
{
    pt_tentry_t *e = tc->entries[idx];
    if (PT_UNLIKELY(!pt_aligned_ok((uintptr_t)e))) {
        pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, e, "malloc(): unaligned tcache chunk detected");
        return NULL;
    }
    if (PT_UNLIKELY(pt_hard(inst)) && pt_tcache_entry_bad(inst, e, idx))
        return NULL;
    tc->entries[idx] = PT_REVEAL_PTR(e->next);
    --tc->counts[idx];
    e->key = 0;
    return e;
}

/* free side: 1 = chunk taken by the tcache, 0 = not, -1 = error reported. */
static inline int pt_tcache_free(pt_inst_t *inst, pt_tcache_t *tc, mchunkptr p, size_t size)
{
    size_t idx = pt_csize2tidx(size);
    if (tc == NULL || idx >= inst->mp.tcache_bins)
        return 0;
    /* The key is random: a match is almost surely a chunk already in a
     * cache. Then (and only then) walk the bin to be sure. */
#ifndef MALLET_SEEDED_BUG_PT_TCACHE_DF /* seeded bug: no tcache double-free check */
    if (PT_UNLIKELY(((pt_tentry_t *)pt_chunk2mem(p))->key == inst->tcache_key) &&
        pt_tcache_double_free_scan(inst, tc, p, idx) != 0)
        return -1;
#endif
    if (tc->counts[idx] < inst->mp.tcache_count) {
        pt_tcache_put(inst, tc, p, idx);
        return 1;
    }
    return 0;
}

/* ---- free's first steps (glibc _int_free up to the tcache) ---------------------- */

/* The rest of _int_free (ptmalloc_free.c): compat mode's fastbin push,
 * which takes no lock, and everything else, from the arena lock on. */
void pt_free_fast(pt_inst_t *inst, pt_arena_t *av, mchunkptr p, size_t size, bool have_lock);
void pt_int_free_arena(pt_inst_t *inst, pt_arena_t *av, mchunkptr p, size_t size, pt_tcache_t *tc,
                       bool have_lock);
/* Reports "free(): invalid pointer" / "free(): invalid size" (ptmalloc_free.c). */
void pt_free_bad_chunk(pt_inst_t *inst, mchunkptr p, size_t size);

/* have_lock: the arena's mutex is held by the caller. */
static inline __attribute__((always_inline)) void pt_int_free(pt_inst_t *inst, pt_arena_t *av, mchunkptr p,
                                                              pt_tcache_t *tc, bool have_lock)
{
    size_t size = pt_chunksize(p);
    if (PT_UNLIKELY((uintptr_t)p > (uintptr_t)-size) || PT_UNLIKELY(pt_misaligned_chunk(p)) ||
        PT_UNLIKELY(size < PT_MINSIZE || !pt_aligned_ok(size))) {
        pt_free_bad_chunk(inst, p, size);
        return;
    }
    /* tcache: checked and filled before the arena is touched */
    if (pt_tcache_free(inst, tc, p, size) != 0)
        return;
    if (size <= pt_max_fast(inst) && !pt_hard(inst))
        pt_free_fast(inst, av, p, size, have_lock);
    else
        pt_int_free_arena(inst, av, p, size, tc, have_lock);
}

#endif /* MALLET_PTMALLOC_FAST_H */
