/*
 * scalable_magazine.c — the block engine shared by tiny, small and medium
 * (ALLOCATOR_REFERENCE §C.3-§C.5, §C.8).
 *
 * Allocation, with the current CPU's magazine locked:
 *   1. last-free cache holds a block of exactly this msize -> return it;
 *   2. exact free list, else the next larger non-empty list (bitmap), split
 *      and re-list the remainder;
 *   3. carve from the magazine's last region's free tail;
 *   4. miss -> adopt a depot region or map a new one (scalable_rack.c).
 * Free locks the magazine that owns the block's region (not the current
 * CPU's), goes through the last-free cache, coalesces with both
 * neighbours, merges into the free tail when adjacent, pushes the result,
 * and lets the rack decide whether the magazine now holds too much empty
 * space (depot recirculation).
 *
 * The per-tier bookkeeping is in scalable_blocks.h. Every function here is
 * written once for a tier t and instantiated per tier (always_inline with
 * t a constant, dispatched by the exported wrappers), so tier constants
 * fold and the bookkeeping inlines: the fast paths make no indirect calls.
 * rack->ops (the same functions behind pointers) remains for the slow,
 * tier-generic code in scalable_rack.c and scalable_check.c.
 */
#include "scalable_blocks.h"

#include <string.h>

#define SZ_INLINE static inline __attribute__((always_inline))

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
    else
        sz_meta_set_inuse(r, idx, msize);
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
    return p;
}

void *sz_tiny_malloc(sz_rack_t *rack, uint32_t msize) { return tier_malloc(rack, SZ_TINY, msize); }
void *sz_small_malloc(sz_rack_t *rack, uint32_t msize) { return tier_malloc(rack, SZ_SMALL, msize); }
void *sz_medium_malloc(sz_rack_t *rack, uint32_t msize) { return tier_malloc(rack, SZ_MEDIUM, msize); }

void *sz_tier_malloc(sz_rack_t *rack, uint32_t msize)
{
    switch (rack->tier) {
    case SZ_TINY: return sz_tiny_malloc(rack, msize);
    case SZ_SMALL: return sz_small_malloc(rack, msize);
    default: return sz_medium_malloc(rack, msize);
    }
}

unsigned sz_tier_batch_malloc(sz_rack_t *rack, uint32_t msize, void **out, unsigned count)
{
    /* libmalloc batches tiny requests only */
    const sz_tier_t t = SZ_TINY;
    int mi;
    sz_magazine_t *m = sz_rack_current_mag(rack, &mi);
    unsigned n = 0;
    sz_lock(&m->lock);
    while (n < count) {
        bool corrupt = false;
        void *p = mag_alloc_locked(rack, t, m, msize, &corrupt);
        if (p == NULL) {
            if (corrupt || !sz_rack_refill(rack, m, mi, msize))
                break;
            continue;
        }
        out[n++] = p;
    }
    sz_unlock(&m->lock);
    return n;
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
    b_unmark(t, r, idx, msize);
    uint32_t start = idx, total = msize, ps, pm;
    if (b_prev_free(t, r, idx, &ps, &pm)) {
        if (!sz_list_remove_t(rack, t, m, sz_ptr_of(t, r, ps), pm))
            return; /* reported: leak the block */
        b_unmark(t, r, ps, pm);
        start = ps;
        total += pm;
    }
    uint32_t next = idx + msize;
    if (next < r->tail_start) {
        uint32_t nm = b_free_msize(t, r, next);
        if (nm) {
            if (!sz_list_remove_t(rack, t, m, sz_ptr_of(t, r, next), nm))
                return;
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
        r->tail_start = start;
        b_mark_tail(t, r, start);
        return;
    }
    b_set_free(t, r, start, total);
    sz_list_push_t(rack, t, m, r, start, total);
    if (mag_index == SZ_MAG_DEPOT)
        sz_rack_depot_after_free(rack, r, start, total, idx, msize); /* may unmap r */
    else if (t == SZ_MEDIUM)
        sz_medium_freed(rack, m, r, start, total);
}

void sz_free_locked(sz_rack_t *rack, sz_magazine_t *m, int mag_index, sz_region_t r,
                    uint32_t idx, uint32_t msize, bool partial)
{
    switch (rack->tier) {
    case SZ_TINY: free_locked(rack, SZ_TINY, m, mag_index, r, idx, msize, partial); break;
    case SZ_SMALL: free_locked(rack, SZ_SMALL, m, mag_index, r, idx, msize, partial); break;
    default: free_locked(rack, SZ_MEDIUM, m, mag_index, r, idx, msize, partial); break;
    }
}

void sz_flush_last_free(sz_rack_t *rack, sz_magazine_t *m, int mag_index)
{
    void *p = m->lf_ptr;
    if (p == NULL)
        return;
    sz_region_t r = m->lf_region;
    uint32_t msize = m->lf_msize;
    m->lf_ptr = NULL;
    m->lf_region = NULL;
    sz_free_locked(rack, m, mag_index, r, (uint32_t)sz_index_of(rack->tier, r, p), msize, false);
}

void sz_close_tail(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r)
{
    uint32_t nq = sz_nquanta(rack->tier);
    if (r->tail_start >= nq)
        return;
    uint32_t idx = r->tail_start;
    rack->ops->set_free(r, idx, nq - idx);
    r->tail_start = nq;
    sz_list_push(rack, m, r, idx, nq - idx);
}

/* The reports of validate() below, out of line. */
static __attribute__((noinline, cold)) uint32_t report_bad_free(sz_rack_t *rack, sz_tier_t t,
                                                                sz_magazine_t *m, sz_region_t r,
                                                                void *p)
{
    uint32_t idx = (uint32_t)sz_index_of(t, r, p);
    if (m->lf_ptr == p || rack->ops->free_msize(r, idx))
        SZ_REPORT(rack->zone, MALLET_ERR_DOUBLE_FREE, false, p, rack->ops->msg_double_free, p);
    else
        SZ_REPORT(rack->zone, MALLET_ERR_INVALID_FREE, false, p,
                  "pointer %p being freed was not allocated", p);
    return 0;
}

/* The checks every free of a pointer inside a region goes through. Returns
 * the block's msize, 0 after a report. m is locked. */
SZ_INLINE uint32_t validate(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, sz_region_t r, void *p)
{
    if (!sz_region_cookie_ok_v(rack->zone, t, r, rack->zone->region_cookie))
        return 0;
    uint32_t msize = b_inuse_msize(t, r, (uint32_t)sz_index_of(t, r, p));
    if (__builtin_expect(msize == 0 || m->lf_ptr == p, 0))
        return report_bad_free(rack, t, m, r, p);
    return msize;
}

/* After a free: the rack's own test (sz_rack_maybe_recirculate) written
 * inline so that the usual answer, no, costs a few compares. */
SZ_INLINE bool recirc_candidate(sz_tier_t t, const sz_magazine_t *m)
{
    size_t heap = sz_heap_bytes(t);
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

void sz_tiny_free(sz_rack_t *rack, sz_region_t r, void *p) { tier_free(rack, SZ_TINY, r, p); }
void sz_small_free(sz_rack_t *rack, sz_region_t r, void *p) { tier_free(rack, SZ_SMALL, r, p); }
void sz_medium_free(sz_rack_t *rack, sz_region_t r, void *p) { tier_free(rack, SZ_MEDIUM, r, p); }

void sz_tier_free(sz_rack_t *rack, sz_region_t r, void *p)
{
    switch (rack->tier) {
    case SZ_TINY: sz_tiny_free(rack, r, p); break;
    case SZ_SMALL: sz_small_free(rack, r, p); break;
    default: sz_medium_free(rack, r, p); break;
    }
}

/* ---- size, resize, trim (not specialised: not on the hot paths) ----------- */

size_t sz_tier_size(sz_rack_t *rack, sz_region_t r, const void *p)
{
    sz_tier_t t = rack->tier;
    uintptr_t idx = sz_index_of(t, r, p);
    if ((uintptr_t)p < (uintptr_t)sz_heap(t, r) || idx >= sz_nquanta(t) ||
        ((uintptr_t)p & ((1u << sz_qshift(t)) - 1)))
        return 0;
    /* libmalloc reads the bitmaps here without a lock; mallet takes the
     * owning magazine's lock: another thread freeing a neighbour rewrites
     * the same bitmap word, and a size() that can be torn is not one a
     * harness should measure or a TSan run accept. */
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t msize = rack->ops->inuse_msize(r, (uint32_t)idx);
    if (msize != 0 && m->lf_ptr == p)
        msize = 0; /* sitting in the last-free cache: already freed */
    sz_unlock(&m->lock);
    return (size_t)msize << sz_qshift(t);
}

static uint32_t validate_any(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, void *p)
{
    switch (rack->tier) {
    case SZ_TINY: return validate(rack, SZ_TINY, m, r, p);
    case SZ_SMALL: return validate(rack, SZ_SMALL, m, r, p);
    default: return validate(rack, SZ_MEDIUM, m, r, p);
    }
}

static void account_any(sz_tier_t t, sz_magazine_t *m, sz_region_t r, uint32_t msize, int objs)
{
    switch (t) {
    case SZ_TINY: account(SZ_TINY, m, r, msize, objs); break;
    case SZ_SMALL: account(SZ_SMALL, m, r, msize, objs); break;
    default: account(SZ_MEDIUM, m, r, msize, objs); break;
    }
}

bool sz_tier_resize(sz_rack_t *rack, sz_region_t r, void *p, uint32_t new_msize)
{
    sz_tier_t t = rack->tier;
    const sz_tier_ops_t *ops = rack->ops;
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t msize = validate_any(rack, m, r, p);
    uint32_t idx = (uint32_t)sz_index_of(t, r, p);
    bool ok = false;
    if (msize == 0 || new_msize == msize) {
        ok = msize != 0;
    } else if (new_msize < msize) {
        /* Shrinking to half or less gives the tail back; a lesser shrink
         * keeps the block as it is (libmalloc's rule). */
        if (new_msize <= msize / 2) {
            ops->set_inuse(r, idx, new_msize);
            ops->set_inuse(r, idx + new_msize, msize - new_msize);
            sz_free_locked(rack, m, mi, r, idx + new_msize, msize - new_msize, true);
        }
        ok = true;
    } else {
        uint32_t need = new_msize - msize, next = idx + msize;
        uint32_t nm = next < r->tail_start ? ops->free_msize(r, next) : 0;
        if (nm >= need) {
            if (sz_list_remove(rack, m, sz_ptr_of(t, r, next), nm)) {
                ops->unmark(r, next, nm);
                ops->set_inuse(r, idx, new_msize);
                if (nm > need) {
                    ops->set_free(r, idx + new_msize, nm - need);
                    sz_list_push(rack, m, r, idx + new_msize, nm - need);
                }
                account_any(t, m, r, need, 0);
                ok = true;
            }
        } else if (next == r->tail_start && r == m->last_region &&
                   next + need <= sz_nquanta(t)) {
            ops->unmark(r, next, 1);
            ops->set_inuse(r, idx, new_msize);
            r->tail_start = idx + new_msize;
            account_any(t, m, r, need, 0);
            ok = true;
        }
    }
    sz_unlock(&m->lock);
    return ok;
}

void *sz_tier_trim(sz_rack_t *rack, sz_region_t r, void *p, uint32_t head, uint32_t keep)
{
    sz_tier_t t = rack->tier;
    const sz_tier_ops_t *ops = rack->ops;
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t idx = (uint32_t)sz_index_of(t, r, p);
    uint32_t msize = ops->inuse_msize(r, idx);
    if (msize == 0 || head + keep > msize) {
        sz_unlock(&m->lock);
        return NULL;
    }
    uint32_t tail = msize - head - keep;
    if (head) {
        ops->set_inuse(r, idx, head);
        ops->set_inuse(r, idx + head, msize - head);
        sz_free_locked(rack, m, mi, r, idx, head, true);
    }
    if (tail) {
        ops->set_inuse(r, idx + head, keep);
        ops->set_inuse(r, idx + head + keep, tail);
        sz_free_locked(rack, m, mi, r, idx + head + keep, tail, true);
    }
    sz_unlock(&m->lock);
    return sz_ptr_of(t, r, idx + head);
}
