/*
 * scalable_engine.h — the block engine's fast paths, inline (ALLOCATOR_
 * REFERENCE §C.3-§C.5): allocation from the last-free cache, the free
 * lists and the free tail; free through the last-free cache, coalescing
 * and the recirculation test. Written once for a tier t and instantiated
 * per tier with t a constant. Besides scalable_magazine.c (which exports
 * the per-tier entry points), scalable_zone.c instantiates the tiny paths
 * inside malloc() and free() themselves: the one extra call level and its
 * register saves were ~5% of a tiny malloc+free pair.
 */
#ifndef MALLET_SCALABLE_ENGINE_H
#define MALLET_SCALABLE_ENGINE_H

#include <string.h>

#include "scalable_blocks.h"

#define SZ_INLINE static inline __attribute__((always_inline))

/* validate()'s reports, out of line (scalable_magazine.c). */
uint32_t sz_report_bad_free(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, sz_region_t r, void *p);


/* ---- the tier's bookkeeping, resolved at compile time ------------------------ */

SZ_INLINE uint32_t b_inuse_msize(sz_tier_t t, sz_region_t r, uint32_t idx)
{
    return t == SZ_TINY ? sz_tiny_inuse_msize(r, idx) : sz_meta_inuse_msize(r, idx);
}
SZ_INLINE uint32_t b_free_msize(sz_tier_t t, sz_region_t r, uint32_t idx)
{
    return t == SZ_TINY ? sz_tiny_free_msize(r, idx) : sz_meta_free_msize(r, idx);
}
SZ_INLINE bool b_prev_free(sz_tier_t t, sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize)
{
    return t == SZ_TINY ? sz_tiny_prev_free(r, idx, start, msize)
                        : sz_meta_prev_free(r, idx, start, msize);
}
SZ_INLINE void b_set_inuse(sz_tier_t t, sz_region_t r, uint32_t idx, uint32_t msize)
{
    if (t == SZ_TINY)
        sz_tiny_set_inuse(r, idx, msize);
    else if (t == SZ_SMALL)
        sz_meta_set_inuse(r, idx, msize);
    else
        sz_medium_set_inuse(r, idx, msize);
}
SZ_INLINE void b_set_free(sz_tier_t t, sz_region_t r, uint32_t idx, uint32_t msize)
{
    if (t == SZ_TINY)
        sz_tiny_set_free(r, idx, msize);
    else
        sz_meta_set_free(r, idx, msize);
}
SZ_INLINE void b_unmark(sz_tier_t t, sz_region_t r, uint32_t idx, uint32_t msize)
{
    if (t == SZ_TINY)
        sz_tiny_unmark(r, idx, msize);
    else if (t == SZ_SMALL)
        sz_meta_unmark(r, idx, msize);
    else
        sz_medium_unmark(r, idx, msize);
}
SZ_INLINE void b_mark_tail(sz_tier_t t, sz_region_t r, uint32_t idx)
{
    if (t == SZ_TINY)
        sz_tiny_mark_tail(r, idx);
    else
        sz_meta_mark_tail(r, idx);
}
SZ_INLINE uint32_t b_lf_max_msize(sz_tier_t t)
{
    /* libmalloc caches only tiny blocks under 16 quanta (<= 240 B); small
     * and medium cache a freed block of any size. */
    return t == SZ_TINY ? 16 : sz_nquanta(t) + 1;
}

SZ_INLINE size_t qbytes(sz_tier_t t, uint32_t msize)
{
    return (size_t)msize << sz_qshift(t);
}

SZ_INLINE void account(sz_tier_t t, sz_magazine_t *m, sz_region_t r, uint32_t msize, int objs)
{
    size_t b = qbytes(t, msize);
    size_t heap = sz_heap_bytes(t);
    r->bytes_used += b;
    m->bytes_used += b;
    r->objects_in_use += (uint32_t)objs;
    m->objects += (size_t)(long)objs;
    if (r->bytes_used >= heap - heap / 4)
        r->recirc_suitable = false;
}

SZ_INLINE unsigned first_slot_from(const sz_magazine_t *m, unsigned slot, unsigned nslots)
{
    unsigned w = slot >> 6;
    uint64_t bits = m->bitmap[w] & (~(uint64_t)0 << (slot & 63));
    while (bits == 0) {
        if (++w >= (nslots + 63) / 64)
            return nslots;
        bits = m->bitmap[w];
    }
    unsigned s = (w << 6) + (unsigned)__builtin_ctzll(bits);
    return s < nslots ? s : nslots;
}

/* ---- allocation ----------------------------------------------------------- */

/* Taking a block off a list: the checks and the split. Out of the way of
 * the last-free cache hit. */
SZ_INLINE void *alloc_from_list(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, unsigned slot,
                                uint32_t msize, bool *corrupt)
{
    void *blk = m->heads[slot];
    if (t == SZ_SMALL)
        blk = sz_small_entry_block(blk); /* the head may be an oob entry */
    sz_region_t r = sz_region_of(t, blk);
    uint32_t idx = (uint32_t)sz_index_of(t, r, blk);
    if (!sz_region_cookie_ok_v(rack->zone, t, r, rack->zone->region_cookie)) {
        *corrupt = true;
        return NULL;
    }
    uint32_t fm = b_free_msize(t, r, idx);
    if (__builtin_expect(fm < msize, 0)) {
        SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, blk,
                  "Corruption of %s freelist %p: size too small (%u/%u)", sz_tiers[t].name, blk,
                  fm, msize);
        *corrupt = true;
        return NULL;
    }
    if (!sz_list_remove_t(rack, t, m, blk, fm)) {
        *corrupt = true;
        return NULL;
    }
    /* tiny: set_inuse rewrites both bits at idx, nothing else to forget */
    if (t != SZ_TINY)
        b_unmark(t, r, idx, fm);
    b_set_inuse(t, r, idx, msize);
    if (fm > msize) {
        b_set_free(t, r, idx + msize, fm - msize);
        sz_list_push_t(rack, t, m, r, idx + msize, fm - msize);
    }
    account(t, m, r, msize, 1);
    return blk;
}

/* Steps 1-3 above. NULL with *corrupt set if a report was made. */
SZ_INLINE void *mag_alloc_locked(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, uint32_t msize,
                                 bool *corrupt)
{
    if (m->lf_ptr && m->lf_msize == msize) {
        void *p = m->lf_ptr;
        if (t == SZ_MEDIUM) /* it may have been madvised on the way in */
            sz_medium_mark_run(m->lf_region, (uint32_t)sz_index_of(t, m->lf_region, p), msize, false);
        m->lf_ptr = NULL;
        m->lf_region = NULL;
        return p; /* still counted as in use while cached */
    }
    unsigned nslots = sz_nslots(t);
    unsigned slot = first_slot_from(m, sz_slot_for(t, msize), nslots);
    if (slot < nslots)
        return alloc_from_list(rack, t, m, slot, msize, corrupt);
    sz_region_t r = m->last_region;
    if (r && r->tail_start + msize <= sz_nquanta(t)) {
        uint32_t idx = r->tail_start;
        b_set_inuse(t, r, idx, msize);
        r->tail_start = idx + msize;
        account(t, m, r, msize, 1);
        return sz_ptr_of(t, r, idx);
    }
    return NULL;
}

/* The OS refused a new region. libmalloc returns NULL here; mallet first
 * tries the other CPUs' magazines, whose regions may hold free blocks this
 * thread's magazine cannot see (a thread that moved CPU after freeing, or
 * frees made by other threads). A deliberate difference: under memory
 * pressure, memory the zone already holds is used before failing. */
static __attribute__((noinline, cold)) void *tier_malloc_other_mags(sz_rack_t *rack, sz_tier_t t, int mine,
                                                                     uint32_t msize)
{
    for (unsigned i = 0; i < rack->nmags; i++) {
        if ((int)i == mine)
            continue;
        sz_magazine_t *m = &rack->mags[i];
        bool corrupt = false;
        sz_lock(&m->lock);
        void *p = mag_alloc_locked(rack, t, m, msize, &corrupt);
        sz_unlock(&m->lock);
        if (p || corrupt)
            return p;
    }
    return NULL;
}

SZ_INLINE void *tier_malloc(sz_rack_t *rack, sz_tier_t t, uint32_t msize)
{
    int mi;
    sz_magazine_t *m = sz_rack_current_mag(rack, &mi);
    sz_lock(&m->lock);
    bool corrupt = false;
    void *p = mag_alloc_locked(rack, t, m, msize, &corrupt);
    /* Bounded: each refill either installs room for msize or gives up. */
    for (int tries = 0; p == NULL && !corrupt && tries < 64; tries++) {
        if (!sz_rack_refill(rack, m, mi, msize))
            break;
        p = mag_alloc_locked(rack, t, m, msize, &corrupt);
    }
    sz_unlock(&m->lock);
    if (__builtin_expect(p == NULL && !corrupt && rack->nmags > 1, 0))
        p = tier_malloc_other_mags(rack, t, mi, msize);
    return p;
}

/* ---- freeing -------------------------------------------------------------- */

SZ_INLINE void free_locked(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, int mag_index,
                           sz_region_t r, uint32_t idx, uint32_t msize, bool partial)
{
    size_t b = qbytes(t, msize);
    size_t heap = sz_heap_bytes(t);
    r->bytes_used -= b;
    m->bytes_used -= b;
    if (!partial) {
        r->objects_in_use--;
        m->objects--;
    }
    /* Tiny marks a block by the two bits at its start only, and both ways
     * out below (set_free, mark_tail) rewrite the bits at `start`. So tiny
     * clears the bits at idx only when idx becomes a middle (backward
     * coalescing) and never clears them at start, except on the two early
     * returns, which leave the same state as clearing up front would. */
    const bool tiny = t == SZ_TINY;
    if (!tiny)
        b_unmark(t, r, idx, msize);
    uint32_t start = idx, total = msize, ps, pm;
    if (b_prev_free(t, r, idx, &ps, &pm)) {
        if (tiny)
            b_unmark(t, r, idx, msize);
        if (!sz_list_remove_t(rack, t, m, sz_ptr_of(t, r, ps), pm))
            return; /* reported: leak the block */
        if (!tiny)
            b_unmark(t, r, ps, pm);
        start = ps;
        total += pm;
    }
    uint32_t next = idx + msize;
    if (next < r->tail_start) {
        uint32_t nm = b_free_msize(t, r, next);
        if (nm) {
            if (!sz_list_remove_t(rack, t, m, sz_ptr_of(t, r, next), nm)) {
                if (tiny)
                    b_unmark(t, r, start, 1);
                return;
            }
            b_unmark(t, r, next, nm);
            total += nm;
        }
    }
    if (r->bytes_used < heap - heap / 4)
        r->recirc_suitable = true;
    if (start + total == r->tail_start && r == m->last_region) {
        /* Give it back to the free tail: keeps the tail one big run. */
        if (r->tail_start < sz_nquanta(t))
            b_unmark(t, r, r->tail_start, 1);
        if (t == SZ_MEDIUM) /* the tail keeps no madvise runs */
            sz_medium_forget_runs(r, start, r->tail_start - start);
        r->tail_start = start;
        b_mark_tail(t, r, start);
        return;
    }
    b_set_free(t, r, start, total);
    sz_list_push_t(rack, t, m, r, start, total);
    if (mag_index == SZ_MAG_DEPOT)
        sz_rack_depot_after_free(rack, r, start, total, idx, msize); /* may unmap r */
    else if (t == SZ_MEDIUM)
        sz_medium_freed(rack, m, r, start, total, idx, msize);
}

/* The checks every free of a pointer inside a region goes through. Returns
 * the block's msize, 0 after a report. m is locked. */
SZ_INLINE uint32_t validate(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, sz_region_t r, void *p)
{
    if (!sz_region_cookie_ok_v(rack->zone, t, r, rack->zone->region_cookie))
        return 0;
    uint32_t msize = b_inuse_msize(t, r, (uint32_t)sz_index_of(t, r, p));
#ifdef MALLET_SEEDED_BUG_SZ_TINY_DF /* seeded bug: a tiny block in the last-free cache can be freed again */
    if (t == SZ_TINY && msize != 0)
        return msize;
#endif
    if (__builtin_expect(msize == 0 || m->lf_ptr == p, 0))
        return sz_report_bad_free(rack, t, m, r, p);
    return msize;
}

/* After a free: the rack's own test (sz_rack_maybe_recirculate) written
 * inline so that the usual answer, no, costs a few compares. */
SZ_INLINE bool recirc_candidate(sz_tier_t t, const sz_magazine_t *m)
{
    size_t heap = sz_heap_bytes(t);
    /* (A single magazine never recirculates: sz_rack_maybe_recirculate
     * says no. Testing it here would cost every free a load.) */
    return m->bytes_owned - m->bytes_used > heap + heap / 2 &&
           m->bytes_used < m->bytes_owned - m->bytes_owned / 4;
}

SZ_INLINE void tier_free(sz_rack_t *rack, sz_tier_t t, sz_region_t r, void *p)
{
    sz_zone_t *z = rack->zone;
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t msize = validate(rack, t, m, r, p);
    if (msize == 0) {
        sz_unlock(&m->lock);
        return;
    }
    if (__builtin_expect(z->free_fill, 0)) {
        if (z->s.scribble)
            memset(p, 0x55, qbytes(t, msize));
        else if (z->s.zero_on_free)
            memset(p, 0, qbytes(t, msize));
    }
    if (t == SZ_MEDIUM && mi != SZ_MAG_DEPOT)
        sz_medium_before_cache(rack, m, r, p, msize);
    if (mi != SZ_MAG_DEPOT && msize < b_lf_max_msize(t)) {
        /* Keep this block warm; really free the previous occupant. */
        void *old = m->lf_ptr;
        sz_region_t old_r = m->lf_region;
        uint32_t old_msize = m->lf_msize;
        m->lf_ptr = p;
        m->lf_region = r;
        m->lf_msize = msize;
        if (old == NULL) {
            sz_unlock(&m->lock);
            return;
        }
        p = old;
        r = old_r;
        msize = old_msize;
    }
    free_locked(rack, t, m, mi, r, (uint32_t)sz_index_of(t, r, p), msize, false);
    if (mi != SZ_MAG_DEPOT && recirc_candidate(t, m) && sz_rack_maybe_recirculate(rack, m, mi))
        return; /* it unlocked m */
    sz_unlock(&m->lock);
}

#endif /* MALLET_SCALABLE_ENGINE_H */
