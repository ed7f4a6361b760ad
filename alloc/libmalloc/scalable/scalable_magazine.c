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
 * The per-tier bookkeeping is behind rack->ops; see scalable_internal.h.
 */
#include "scalable_internal.h"

#include <string.h>

static inline size_t qbytes(const sz_rack_t *rack, uint32_t msize)
{
    return (size_t)msize << sz_tiers[rack->tier].qshift;
}

static void account(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t msize, int objs)
{
    size_t b = qbytes(rack, msize);
    size_t heap = sz_heap_bytes(rack->tier);
    r->bytes_used += b;
    m->bytes_used += b;
    r->objects_in_use += (uint32_t)objs;
    m->objects += (size_t)(long)objs;
    if (r->bytes_used >= heap - heap / 4)
        r->recirc_suitable = false;
}

static unsigned first_slot_from(const sz_magazine_t *m, unsigned slot, unsigned nslots)
{
    for (unsigned w = slot >> 6; w < SZ_BITMAP_WORDS; w++) {
        uint64_t bits = m->bitmap[w];
        if (w == slot >> 6)
            bits &= ~(uint64_t)0 << (slot & 63);
        if (bits) {
            unsigned s = (w << 6) + (unsigned)__builtin_ctzll(bits);
            return s < nslots ? s : nslots;
        }
    }
    return nslots;
}

/* Steps 1-3 above. NULL with *corrupt set if a report was made. */
static void *mag_alloc_locked(sz_rack_t *rack, sz_magazine_t *m, uint32_t msize, bool *corrupt)
{
    const sz_tier_ops_t *ops = rack->ops;
    sz_tier_t t = rack->tier;
    if (m->lf_ptr && m->lf_msize == msize) {
        void *p = m->lf_ptr;
        m->lf_ptr = NULL;
        m->lf_region = NULL;
        return p; /* still counted as in use while cached */
    }
    unsigned nslots = sz_tiers[t].nslots;
    unsigned slot = first_slot_from(m, sz_slot_for(t, msize), nslots);
    if (slot < nslots) {
        void *blk = m->heads[slot];
        sz_region_t r = sz_region_of(t, blk);
        uint32_t idx = (uint32_t)sz_index_of(t, r, blk);
        if (!sz_region_cookie_ok(rack->zone, t, r)) {
            *corrupt = true;
            return NULL;
        }
        uint32_t fm = ops->free_msize(r, idx);
        if (fm < msize) {
            SZ_REPORT(rack->zone, MALLET_ERR_FREELIST_CORRUPTION, true, blk,
                      "Corruption of %s freelist %p: size too small (%u/%u)", sz_tiers[t].name,
                      blk, fm, msize);
            *corrupt = true;
            return NULL;
        }
        if (!sz_list_remove(rack, m, blk, fm)) {
            *corrupt = true;
            return NULL;
        }
        ops->unmark(r, idx, fm);
        ops->set_inuse(r, idx, msize);
        if (fm > msize) {
            ops->set_free(r, idx + msize, fm - msize);
            sz_list_push(rack, m, r, idx + msize, fm - msize);
        }
        account(rack, m, r, msize, 1);
        return blk;
    }
    sz_region_t r = m->last_region;
    if (r && r->tail_start + msize <= sz_tiers[t].nquanta) {
        uint32_t idx = r->tail_start;
        ops->set_inuse(r, idx, msize);
        r->tail_start = idx + msize;
        account(rack, m, r, msize, 1);
        return sz_ptr_of(t, r, idx);
    }
    return NULL;
}

void *sz_tier_malloc(sz_rack_t *rack, uint32_t msize)
{
    int mi;
    sz_magazine_t *m = sz_rack_current_mag(rack, &mi);
    void *p = NULL;
    mallet_lock(&m->lock);
    /* Bounded: each refill either installs room for msize or gives up. */
    for (int tries = 0; tries < 64; tries++) {
        bool corrupt = false;
        p = mag_alloc_locked(rack, m, msize, &corrupt);
        if (p || corrupt)
            break;
        if (!sz_rack_refill(rack, m, mi, msize))
            break;
    }
    mallet_unlock(&m->lock);
    return p;
}

unsigned sz_tier_batch_malloc(sz_rack_t *rack, uint32_t msize, void **out, unsigned count)
{
    int mi;
    sz_magazine_t *m = sz_rack_current_mag(rack, &mi);
    unsigned n = 0;
    mallet_lock(&m->lock);
    while (n < count) {
        bool corrupt = false;
        void *p = mag_alloc_locked(rack, m, msize, &corrupt);
        if (p == NULL) {
            if (corrupt || !sz_rack_refill(rack, m, mi, msize))
                break;
            continue;
        }
        out[n++] = p;
    }
    mallet_unlock(&m->lock);
    return n;
}

void sz_free_locked(sz_rack_t *rack, sz_magazine_t *m, int mag_index, sz_region_t r,
                    uint32_t idx, uint32_t msize, bool partial)
{
    const sz_tier_ops_t *ops = rack->ops;
    sz_tier_t t = rack->tier;
    size_t b = qbytes(rack, msize);
    size_t heap = sz_heap_bytes(t);
    r->bytes_used -= b;
    m->bytes_used -= b;
    if (!partial) {
        r->objects_in_use--;
        m->objects--;
    }
    ops->unmark(r, idx, msize);
    uint32_t start = idx, total = msize, ps, pm;
    if (ops->prev_free(r, idx, &ps, &pm)) {
        if (!sz_list_remove(rack, m, sz_ptr_of(t, r, ps), pm))
            return; /* reported: leak the block */
        ops->unmark(r, ps, pm);
        start = ps;
        total += pm;
    }
    uint32_t next = idx + msize;
    if (next < r->tail_start) {
        uint32_t nm = ops->free_msize(r, next);
        if (nm) {
            if (!sz_list_remove(rack, m, sz_ptr_of(t, r, next), nm))
                return;
            ops->unmark(r, next, nm);
            total += nm;
        }
    }
    if (r->bytes_used < heap - heap / 4)
        r->recirc_suitable = true;
    if (start + total == r->tail_start && r == m->last_region) {
        /* Give it back to the free tail: keeps the tail one big run. */
        if (r->tail_start < sz_tiers[t].nquanta)
            ops->unmark(r, r->tail_start, 1);
        r->tail_start = start;
        ops->mark_tail(r, start);
        return;
    }
    ops->set_free(r, start, total);
    sz_list_push(rack, m, r, start, total);
    if (mag_index == SZ_MAG_DEPOT)
        sz_rack_depot_after_free(rack, r, start, total); /* may unmap r */
    else if (ops->freed_hook)
        ops->freed_hook(rack, m, r, start, total);
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
    uint32_t nq = sz_tiers[rack->tier].nquanta;
    if (r->tail_start >= nq)
        return;
    uint32_t idx = r->tail_start;
    rack->ops->set_free(r, idx, nq - idx);
    r->tail_start = nq;
    sz_list_push(rack, m, r, idx, nq - idx);
}

/* The checks every free of a pointer inside a region goes through. Returns
 * the block's msize, 0 after a report. m is locked. */
static uint32_t validate_free(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, void *p)
{
    sz_tier_t t = rack->tier;
    if (!sz_region_cookie_ok(rack->zone, t, r))
        return 0;
    uint32_t idx = (uint32_t)sz_index_of(t, r, p);
    uint32_t msize = rack->ops->inuse_msize(r, idx);
    if (msize == 0 || m->lf_ptr == p) {
        if (m->lf_ptr == p || rack->ops->free_msize(r, idx))
            SZ_REPORT(rack->zone, MALLET_ERR_DOUBLE_FREE, false, p, rack->ops->msg_double_free, p);
        else
            SZ_REPORT(rack->zone, MALLET_ERR_INVALID_FREE, false, p,
                      "pointer %p being freed was not allocated", p);
        return 0;
    }
    return msize;
}

void sz_tier_free(sz_rack_t *rack, sz_region_t r, void *p)
{
    sz_tier_t t = rack->tier;
    const sz_tier_ops_t *ops = rack->ops;
    sz_zone_t *z = rack->zone;
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t msize = validate_free(rack, m, r, p);
    if (msize == 0) {
        mallet_unlock(&m->lock);
        return;
    }
    if (z->s.scribble)
        memset(p, 0x55, qbytes(rack, msize));
    else if (z->s.zero_on_free)
        memset(p, 0, qbytes(rack, msize));
    if (mi != SZ_MAG_DEPOT && msize < ops->lf_max_msize) {
        /* Keep this block warm; really free the previous occupant. */
        void *old = m->lf_ptr;
        sz_region_t old_r = m->lf_region;
        uint32_t old_msize = m->lf_msize;
        m->lf_ptr = p;
        m->lf_region = r;
        m->lf_msize = msize;
        if (old == NULL) {
            mallet_unlock(&m->lock);
            return;
        }
        p = old;
        r = old_r;
        msize = old_msize;
    }
    sz_free_locked(rack, m, mi, r, (uint32_t)sz_index_of(t, r, p), msize, false);
    if (mi != SZ_MAG_DEPOT)
        sz_rack_maybe_recirculate(rack, m, mi);
    mallet_unlock(&m->lock);
}

size_t sz_tier_size(sz_rack_t *rack, sz_region_t r, const void *p)
{
    sz_tier_t t = rack->tier;
    uintptr_t idx = sz_index_of(t, r, p);
    if ((uintptr_t)p < (uintptr_t)sz_heap(t, r) || idx >= sz_tiers[t].nquanta ||
        ((uintptr_t)p & ((1u << sz_tiers[t].qshift) - 1)))
        return 0;
    uint32_t msize = rack->ops->inuse_msize(r, (uint32_t)idx);
    if (msize == 0)
        return 0;
    int32_t mi = __atomic_load_n(&r->mag_index, __ATOMIC_ACQUIRE);
    if (mi >= SZ_MAG_DEPOT && mi < (int32_t)rack->nmags && rack->mags[mi].lf_ptr == p)
        return 0; /* sitting in the last-free cache: already freed */
    return qbytes(rack, msize);
}

bool sz_tier_resize(sz_rack_t *rack, sz_region_t r, void *p, uint32_t new_msize)
{
    sz_tier_t t = rack->tier;
    const sz_tier_ops_t *ops = rack->ops;
    int mi;
    sz_magazine_t *m = sz_rack_lock_owner(rack, r, &mi);
    uint32_t msize = validate_free(rack, m, r, p);
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
                account(rack, m, r, need, 0);
                ok = true;
            }
        } else if (next == r->tail_start && r == m->last_region &&
                   next + need <= sz_tiers[t].nquanta) {
            ops->unmark(r, next, 1);
            ops->set_inuse(r, idx, new_msize);
            r->tail_start = idx + new_msize;
            account(rack, m, r, need, 0);
            ok = true;
        }
    }
    mallet_unlock(&m->lock);
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
        mallet_unlock(&m->lock);
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
    mallet_unlock(&m->lock);
    return sz_ptr_of(t, r, idx + head);
}
