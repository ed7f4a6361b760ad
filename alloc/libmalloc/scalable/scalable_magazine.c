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
 * The per-tier bookkeeping is in scalable_blocks.h, the fast paths in
 * scalable_engine.h. Every engine function is written once for a tier t
 * and instantiated per tier (always_inline with t a constant, dispatched
 * by the exported wrappers here), so tier constants fold and the
 * bookkeeping inlines: the fast paths make no indirect calls.
 * rack->ops (the same functions behind pointers) remains for the slow,
 * tier-generic code in scalable_rack.c and scalable_check.c.
 */
#include "scalable_engine.h"

#include <string.h>

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
    if (rack->tier == SZ_MEDIUM) /* never touched since mapped: clean */
        sz_medium_mark_run(r, idx, nq - idx, true);
    r->tail_start = nq;
    sz_list_push(rack, m, r, idx, nq - idx);
}

/* The reports of validate() below, out of line. */
__attribute__((noinline, cold)) uint32_t sz_report_bad_free(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m,
                                                          sz_region_t r, void *p)
{
    uint32_t idx = (uint32_t)sz_index_of(t, r, p);
    if (m->lf_ptr == p || rack->ops->free_msize(r, idx))
        SZ_REPORT(rack->zone, MALLET_ERR_DOUBLE_FREE, false, p, rack->ops->msg_double_free, p);
    else
        SZ_REPORT(rack->zone, MALLET_ERR_INVALID_FREE, false, p,
                  "pointer %p being freed was not allocated", p);
    return 0;
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
