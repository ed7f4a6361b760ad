/*
 * scalable_rack.c — racks, magazines, the depot and region supply
 * (ALLOCATOR_REFERENCE §C.2, §C.6, §C.9).
 *
 * One rack per tier. It has n magazines (logical CPUs, capped by
 * MallocMaxMagazines and 64) plus the depot at index -1, which is never
 * allocated from: it parks regions that a magazine no longer needs. Each
 * allocation uses magazine cpu % n, where the CPU number comes from rseq's
 * cpu_id or sched_getcpu() (Apple reads it from the commpage); a free
 * locks whichever magazine owns the block's region, re-checking after
 * locking because regions migrate.
 *
 * Recirculation: after a free, a magazine holding more than 1.5 regions'
 * worth of free space and using under 75% of what it owns hands one mostly
 * empty region to the depot; the depot madvises the region's free pages
 * (MADV_FREE, Linux's counterpart of MADV_FREE_REUSABLE) and unmaps a
 * region that is empty while it holds at least MallocRecircRetainedRegions
 * regions, that one included (libmalloc's *_free_try_depot_unmap_no_lock
 * counts the region it is about to unmap, so with the default 2 the depot
 * is left with one). A magazine that runs dry adopts a depot region with a
 * fitting free block before mapping a new one. With a single magazine
 * there is no recirculation and no adoption at all, as libmalloc
 * ("Uniprocessor, single magazine"): the depot would only move regions
 * back and forth between the one magazine and itself.
 *
 * Region mapping (§C.9, 646.40.3 scheme): the first thread that runs dry
 * trylocks the magazine's alloc lock, drops the magazine lock for the
 * mmap, relocks and installs; the others wait on the alloc lock without
 * holding the magazine and then retry. The depot madvises with its lock
 * dropped and the region pinned, as libmalloc (sz_rack_depot_after_free).
 */
#include "scalable_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* ---- the magazine lock's slow paths (scalable_lock.h) ------------------------ */

void sz_lock_slow(sz_lock_t *l)
{
    /* Spin a little while the holder works on another CPU... */
    for (int i = 0; i < 100; i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
        if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 && sz_trylock(l))
            return;
    }
    /* ...then sleep: mark the lock contended so the holder wakes us. */
    while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
        mallet_os_futex_wait(&l->word, 2);
}

void sz_lock_wake(sz_lock_t *l)
{
    mallet_os_futex_wake(&l->word, 1);
}

int sz_rack_init(sz_zone_t *z, sz_rack_t *rack, sz_tier_t t, unsigned nmags)
{
    memset(rack, 0, sizeof *rack);
    rack->tier = t;
    rack->zone = z;
    rack->nmags = nmags;
    rack->ops = t == SZ_TINY ? &sz_tiny_ops : t == SZ_SMALL ? &sz_small_ops : &sz_medium_ops;
    /* Different cookies per tier, as libmalloc (small uses ~cookie). */
    rack->list_cookie = t == SZ_TINY ? (uintptr_t)z->entropy
                                     : ~(uintptr_t)z->entropy ^ (uintptr_t)rack;
    rack->list_null = sz_link_encode(rack, NULL);
    rack->page_size = sz_page();
    rack->small_ck_null = sz_ck(0 ^ rack->list_cookie);
    size_t bytes = sz_round_up((nmags + 1) * sizeof(sz_magazine_t), sz_page());
    void *map = mallet_os_map(NULL, bytes, MALLET_PROT_RW);
    if (map == NULL)
        return ENOMEM;
    mallet_os_name_mapping(map, bytes, "scalable magazines");
    rack->mags_mapping = map;
    rack->mags_map_bytes = bytes;
    rack->mags = (sz_magazine_t *)map + 1;
    for (int i = -1; i < (int)nmags; i++) {
        sz_lock_init(&rack->mags[i].lock);
        mallet_lock_init(&rack->mags[i].alloc_lock);
    }
    mallet_lock_init(&rack->region_lock);
    if (sz_region_set_init(&rack->regions) != 0) {
        mallet_os_unmap(map, bytes);
        rack->mags_mapping = NULL;
        return ENOMEM;
    }
    return 0;
}

static void unmap_region_cb(uintptr_t base, void *ctx)
{
    sz_rack_t *rack = ctx;
    sz_region_unmap(rack->tier, (sz_region_t)base, rack->zone->guard_regions);
}

/* Works from the hash ring and the magazine mapping only, both outside the
 * heap, so a corrupted heap cannot make destroy() miss a region. */
void sz_rack_destroy(sz_rack_t *rack)
{
    if (atomic_load(&rack->regions.ring))
        sz_region_set_foreach(&rack->regions, unmap_region_cb, rack);
    sz_region_set_destroy(&rack->regions);
    if (rack->mags_mapping)
        mallet_os_unmap(rack->mags_mapping, rack->mags_map_bytes);
    rack->mags_mapping = NULL;
}

/* ---- region lists ----------------------------------------------------------- */

static void list_link(sz_magazine_t *m, sz_region_t r)
{
    r->prev = m->last;
    r->next = NULL;
    if (m->last)
        m->last->next = r;
    else
        m->first = r;
    m->last = r;
    m->nregions++;
}

static void list_unlink(sz_magazine_t *m, sz_region_t r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        m->first = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        m->last = r->prev;
    r->prev = r->next = NULL;
    m->nregions--;
}

/* The free blocks of r below its tail, in address order: skips in-use
 * blocks from *idx and stops at the next free one. Returns 1 with *idx and
 * *fm (its msize) set, 0 at the tail, -1 where no block starts at *idx
 * (damaged metadata). */
static int next_free_block(const sz_rack_t *rack, sz_region_t r, uint32_t *idx, uint32_t *fm)
{
    while (*idx < r->tail_start) {
        uint32_t ms = rack->ops->inuse_msize(r, *idx);
        if (ms) {
            *idx += ms;
            continue;
        }
        *fm = rack->ops->free_msize(r, *idx);
        return *fm ? 1 : -1;
    }
    return 0;
}

/* The whole pages of r's untouched tail, past its first quantum (the
 * tail holds no list entry, but its start is kept like a block's header).
 * False when there are none. */
static bool tail_pages(const sz_rack_t *rack, sz_region_t r, uintptr_t *lo, uintptr_t *hi)
{
    uint32_t nq = sz_tiers[rack->tier].nquanta;
    if (r->tail_start >= nq)
        return false;
    *lo = sz_round_up((uintptr_t)sz_ptr_of(rack->tier, r, r->tail_start) + 32, sz_page());
    *hi = (uintptr_t)sz_ptr_of(rack->tier, r, nq);
    return *hi > *lo;
}

/* Move every listed free block of r from one magazine's lists to another's.
 * Walks the region's blocks, so it also validates them as it goes. */
static bool move_free_blocks(sz_rack_t *rack, sz_region_t r, sz_magazine_t *from, sz_magazine_t *to)
{
    uint32_t idx = 0, fm = 0;
    for (int k; (k = next_free_block(rack, r, &idx, &fm)) != 0; idx += fm) {
        if (k < 0) {
            SZ_REPORT(rack->zone, MALLET_ERR_METADATA_CORRUPTION, true, sz_ptr_of(rack->tier, r, idx),
                      "%s region %p: no block starts at %p", sz_tiers[rack->tier].name, (void *)r,
                      sz_ptr_of(rack->tier, r, idx));
            return false;
        }
        if (!sz_list_remove(rack, from, sz_ptr_of(rack->tier, r, idx), fm))
            return false;
        if (to)
            sz_list_push(rack, to, r, idx, fm);
    }
    return true;
}

static void transfer_region(sz_rack_t *rack, sz_region_t r, sz_magazine_t *from, sz_magazine_t *to,
                            int to_index)
{
    size_t heap = sz_heap_bytes(rack->tier);
    list_unlink(from, r);
    from->bytes_used -= r->bytes_used;
    from->bytes_owned -= heap;
    from->objects -= r->objects_in_use;
    list_link(to, r);
    to->bytes_used += r->bytes_used;
    to->bytes_owned += heap;
    to->objects += r->objects_in_use;
    __atomic_store_n(&r->mag_index, to_index, __ATOMIC_RELEASE);
}

static void unmap_depot_region(sz_rack_t *rack, sz_magazine_t *depot, sz_region_t r);

/* An empty depot region goes back to the OS unless another thread is
 * madvising it with the depot unlocked (pinned) or the depot holds fewer
 * than the retained count, r included (see the note on top). */
static bool depot_should_unmap(const sz_rack_t *rack, const sz_magazine_t *depot, const sz_region_trailer_t *r)
{
    return r->bytes_used == 0 && r->pinned == 0 && depot->nregions >= (size_t)rack->zone->s.recirc_retained;
}

static void depot_maybe_unmap(sz_rack_t *rack, sz_magazine_t *depot, sz_region_t r)
{
    if (depot_should_unmap(rack, depot, r))
        unmap_depot_region(rack, depot, r);
}

static void unmap_depot_region(sz_rack_t *rack, sz_magazine_t *depot, sz_region_t r)
{
    move_free_blocks(rack, r, depot, NULL);
    list_unlink(depot, r);
    depot->bytes_owned -= sz_heap_bytes(rack->tier);
    mallet_lock(&rack->region_lock);
    sz_region_set_remove(&rack->regions, (uintptr_t)r);
    mallet_unlock(&rack->region_lock);
    sz_region_unmap(rack->tier, r, rack->zone->guard_regions);
}

/* The whole pages of the free block [idx, idx+msize) that also lie within
 * [near_lo, near_hi); false if there are none. */
static bool advise_range(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize,
                         uintptr_t near_lo, uintptr_t near_hi, uintptr_t *out_lo, uintptr_t *out_hi)
{
    size_t page = sz_page();
    sz_tier_t t = rack->tier;
    /* Keep the in-place list entry (first 18 bytes) and tiny's trailing
     * size (last 2): those bytes are rewritten by frees of neighbours,
     * also while a pinned depot region is advised with the lock dropped.
     * A small block whose entry is out of band keeps nothing in its
     * pages, so all of them go (§C.4); coalescing keeps such a block's
     * entry out of band (scalable_small_list.c). */
    void *block = sz_ptr_of(t, r, idx);
    uintptr_t lo = (uintptr_t)block + 32;
    if (t == SZ_SMALL && sz_small_oob_find(rack, block, msize))
        lo = (uintptr_t)block;
    uintptr_t hi = (uintptr_t)sz_ptr_of(t, r, idx + msize) - (t == SZ_TINY ? 2 : 0);
    lo = sz_round_up(lo, page);
    hi &= ~(uintptr_t)(page - 1);
    if (lo < near_lo)
        lo = near_lo;
    if (hi > near_hi)
        hi = near_hi;
    *out_lo = lo;
    *out_hi = hi;
    return hi > lo;
}

/* Lazily advise [lo, hi), the interior of a free block (no lock needed if
 * the region is pinned: see sz_rack_depot_after_free). */
static void advise_pages(sz_rack_t *rack, uintptr_t lo, uintptr_t hi)
{
    if (rack->zone->s.scribble)
        memset((void *)lo, 0xDD, hi - lo);
    mallet_os_decommit((void *)lo, hi - lo, MALLET_DECOMMIT_LAZY);
}

/* madvise the whole pages of the free block [idx, idx+msize), lock held. */
static size_t advise_block(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize, int how)
{
    uintptr_t lo, hi;
    if (!advise_range(rack, r, idx, msize, 0, UINTPTR_MAX, &lo, &hi))
        return 0;
    if (rack->zone->s.scribble)
        memset((void *)lo, 0xDD, hi - lo);
    mallet_os_decommit((void *)lo, hi - lo, how);
    return hi - lo;
}

size_t sz_advise_free_block(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize)
{
    return advise_block(rack, r, idx, msize, MALLET_DECOMMIT_LAZY);
}

/* Lazy (MADV_FREE) for recirculation, like MADV_FREE_REUSABLE; eager
 * (MADV_DONTNEED) for explicit pressure relief, because on Linux lazily
 * freed pages stay in RSS until the kernel needs them, while Apple's
 * reusable pages leave the footprint at once. */
static size_t advise_region(sz_rack_t *rack, sz_region_t r, int how)
{
    size_t n = 0;
    uint32_t idx = 0, fm = 0;
    for (; next_free_block(rack, r, &idx, &fm) > 0; idx += fm)
        n += advise_block(rack, r, idx, fm, how);
    uintptr_t lo, hi;
    if (tail_pages(rack, r, &lo, &hi)) {
        mallet_os_decommit((void *)lo, hi - lo, how);
        n += hi - lo;
    }
    return n;
}

/* Recirculation's advice, with the depot locked on entry and exit: the
 * ranges are collected under the lock and the syscalls made with it
 * dropped and the region pinned (libmalloc's scan-then-advise), so other
 * threads' depot frees and adoptions do not wait behind one madvise per
 * free block. A region with more ranges than fit here has the rest
 * advised under the lock, as before: re-walking the region after the lock
 * was dropped could start inside a block that coalesced meanwhile. */
#define SZ_ADVISE_BATCH 128

static void advise_region_unlocked(sz_rack_t *rack, sz_magazine_t *depot, sz_region_t r)
{
    uintptr_t lo[SZ_ADVISE_BATCH], hi[SZ_ADVISE_BATCH];
    unsigned n = 0;
    uint32_t idx = 0, fm = 0;
    for (; next_free_block(rack, r, &idx, &fm) > 0; idx += fm) {
        if (n < SZ_ADVISE_BATCH) {
            if (advise_range(rack, r, idx, fm, 0, UINTPTR_MAX, &lo[n], &hi[n]))
                n++;
        } else {
            advise_block(rack, r, idx, fm, MALLET_DECOMMIT_LAZY);
        }
    }
    uintptr_t tlo, thi;
    if (tail_pages(rack, r, &tlo, &thi)) {
        if (n < SZ_ADVISE_BATCH) {
            lo[n] = tlo;
            hi[n++] = thi;
        } else {
            mallet_os_decommit((void *)tlo, thi - tlo, MALLET_DECOMMIT_LAZY);
        }
    }
    if (n == 0)
        return;
    r->pinned++;
    sz_unlock(&depot->lock);
    for (unsigned i = 0; i < n; i++)
        advise_pages(rack, lo[i], hi[i]);
    sz_lock(&depot->lock);
    r->pinned--;
}

/* ---- refill: depot adoption, then a new region ----------------------------- */

static bool adopt_from_depot(sz_rack_t *rack, sz_magazine_t *m, int mi, uint32_t msize)
{
    sz_magazine_t *depot = &rack->mags[SZ_MAG_DEPOT];
    sz_tier_t t = rack->tier;
    bool adopted = false;
    if (rack->nmags == 1)
        return false; /* one magazine never recirculates: the depot stays empty */
    sz_lock(&depot->lock);
    unsigned nslots = sz_tiers[t].nslots;
    for (unsigned s = sz_slot_for(t, msize); s < nslots && !adopted; s++) {
        if (!(depot->bitmap[s >> 6] >> (s & 63) & 1))
            continue;
        for (void *blk = depot->heads[s]; blk;) {
            sz_region_t r = sz_region_of(t, blk);
            if (r->pinned == 0) {
                if (move_free_blocks(rack, r, depot, m)) {
                    transfer_region(rack, r, depot, m, mi);
                    adopted = true;
                }
                break;
            }
            bool ok;
            blk = sz_list_next_raw(rack, blk, &ok);
            if (!ok)
                break;
        }
    }
    sz_unlock(&depot->lock);
    return adopted;
}

bool sz_rack_refill(sz_rack_t *rack, sz_magazine_t *m, int mi, uint32_t msize)
{
    sz_zone_t *z = rack->zone;
    if (adopt_from_depot(rack, m, mi, msize))
        return true;
    if (!mallet_trylock(&m->alloc_lock)) {
        /* Someone else is mapping for this magazine: wait for them without
         * holding the magazine, then look again. */
        sz_unlock(&m->lock);
        mallet_lock(&m->alloc_lock);
        mallet_unlock(&m->alloc_lock);
        sz_lock(&m->lock);
        return true;
    }
    sz_unlock(&m->lock);
    sz_region_t r = sz_region_map(rack->tier, z->region_cookie, z->guard_regions);
    int err = r ? 0 : ENOMEM;
    if (r) {
        mallet_lock(&rack->region_lock);
        err = sz_region_set_insert(&rack->regions, (uintptr_t)r);
        mallet_unlock(&rack->region_lock);
        if (err)
            sz_region_unmap(rack->tier, r, rack->zone->guard_regions);
    }
    sz_lock(&m->lock);
    if (err == 0) {
        /* The old last region's tail becomes an ordinary free block: only
         * the last region is carved from. */
        if (m->last_region)
            sz_close_tail(rack, m, m->last_region);
        r->mag_index = mi;
        r->tail_start = 0;
        list_link(m, r);
        m->bytes_owned += sz_heap_bytes(rack->tier);
        m->last_region = r;
    }
    mallet_unlock(&m->alloc_lock);
    return err == 0;
}

/* ---- recirculation ------------------------------------------------------------ */


bool sz_rack_maybe_recirculate(sz_rack_t *rack, sz_magazine_t *m, int mi)
{
    size_t heap = sz_heap_bytes(rack->tier);
    /* One magazine: libmalloc does not recirculate ("Uniprocessor, single
     * magazine, so no recirculation necessary"). */
    if (rack->nmags == 1 || !(m->bytes_owned - m->bytes_used > heap + heap / 2 &&
          m->bytes_used < m->bytes_owned - m->bytes_owned / 4))
        return false;
    sz_region_t r = m->last;
    while (r && (r == m->last_region || !r->recirc_suitable || r->pinned ||
                 r->bytes_used >= heap - heap / 4))
        r = r->prev;
    if (r == NULL)
        return false;
    if (m->lf_region == r)
        sz_flush_last_free(rack, m, mi); /* the cache must not point into the depot */
    sz_magazine_t *depot = &rack->mags[SZ_MAG_DEPOT];
    sz_lock(&depot->lock);
    if (!move_free_blocks(rack, r, m, depot)) {
        sz_unlock(&depot->lock);
        return false;
    }
    transfer_region(rack, r, m, depot, SZ_MAG_DEPOT);
    /* r is the depot's now: let the magazine go before the madvise work,
     * as libmalloc does, so its own thread and cross-thread frees into it
     * are not held up. */
    sz_unlock(&m->lock);
    if (!rack->zone->s.aggressive_madvise)
        advise_region_unlocked(rack, depot, r);
    depot_maybe_unmap(rack, depot, r);
    sz_unlock(&depot->lock);
    return true;
}

void sz_rack_depot_after_free(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize,
                              uint32_t freed_idx, uint32_t freed_msize)
{
    sz_magazine_t *depot = &rack->mags[SZ_MAG_DEPOT];
    if (depot_should_unmap(rack, depot, r)) {
        unmap_depot_region(rack, depot, r);
        return;
    }
    /* Only the pages the freed block touches (plus the neighbours' entry
     * and trailing-size bytes it absorbed) can have become free: the rest
     * of the coalesced block was madvised when it was freed or when the
     * region entered the depot. libmalloc clamps the same way
     * (small_madvise_free_range_no_lock), instead of re-advising the whole
     * coalesced block on every free. */
    size_t page = sz_page();
    uintptr_t near_lo = ((uintptr_t)sz_ptr_of(rack->tier, r, freed_idx) - 2) & ~(uintptr_t)(page - 1);
    uintptr_t near_hi = sz_round_up((uintptr_t)sz_ptr_of(rack->tier, r, freed_idx + freed_msize) + 32, page);
    uintptr_t lo, hi;
    if (!advise_range(rack, r, idx, msize, near_lo, near_hi, &lo, &hi))
        return;
    /* The syscall (a TLB shootdown in a multithreaded process) runs with
     * the depot unlocked, as libmalloc does, so frees into other depot
     * regions and adoptions do not queue behind it. The region is pinned:
     * it is neither adopted nor unmapped meanwhile, and the depot never
     * allocates, so the block stays free; a concurrent free of a neighbour
     * may coalesce with it but writes only block edges, which [lo, hi)
     * excludes. Unlike libmalloc the block stays listed and free, so a
     * double free of it is still caught and check() sees no in-use block
     * that is not counted. */
    r->pinned++;
    sz_unlock(&depot->lock);
    advise_pages(rack, lo, hi);
    sz_lock(&depot->lock);
    r->pinned--;
    depot_maybe_unmap(rack, depot, r); /* emptied meanwhile by another thread */
}

/* Pressure relief: drop every cached block, unmap every empty region and
 * madvise the free pages of the others. */
size_t sz_rack_pressure_relief(sz_rack_t *rack)
{
    size_t released = 0;
    size_t heap = sz_heap_bytes(rack->tier);
    for (int i = SZ_MAG_DEPOT; i < (int)rack->nmags; i++) {
        sz_magazine_t *m = &rack->mags[i];
        sz_lock(&m->lock);
        sz_flush_last_free(rack, m, i);
        for (sz_region_t r = m->first, next; r; r = next) {
            next = r->next;
            if (r->bytes_used == 0 && r->objects_in_use == 0 && r->pinned == 0) {
                if (!move_free_blocks(rack, r, m, NULL))
                    continue;
                if (m->last_region == r)
                    m->last_region = NULL;
                list_unlink(m, r);
                m->bytes_owned -= heap;
                mallet_lock(&rack->region_lock);
                sz_region_set_remove(&rack->regions, (uintptr_t)r);
                mallet_unlock(&rack->region_lock);
                sz_region_unmap(rack->tier, r, rack->zone->guard_regions);
                released += sz_tiers[rack->tier].region_size;
            } else {
                released += advise_region(rack, r, MALLET_DECOMMIT_EAGER);
            }
        }
        sz_unlock(&m->lock);
    }
    return released;
}

void sz_rack_lock_all(sz_rack_t *rack)
{
    for (int i = 0; i < (int)rack->nmags; i++)
        mallet_lock(&rack->mags[i].alloc_lock);
    for (int i = 0; i < (int)rack->nmags; i++)
        sz_lock(&rack->mags[i].lock);
    sz_lock(&rack->mags[SZ_MAG_DEPOT].lock);
    mallet_lock(&rack->region_lock);
}

void sz_rack_unlock_all(sz_rack_t *rack)
{
    mallet_unlock(&rack->region_lock);
    sz_unlock(&rack->mags[SZ_MAG_DEPOT].lock);
    for (int i = (int)rack->nmags - 1; i >= 0; i--)
        sz_unlock(&rack->mags[i].lock);
    for (int i = (int)rack->nmags - 1; i >= 0; i--)
        mallet_unlock(&rack->mags[i].alloc_lock);
}

void sz_rack_reinit_locks(sz_rack_t *rack)
{
    /* In a fork child: a thread that was madvising a depot region with the
     * depot unlocked does not exist here, and its pin would keep the
     * region from ever being adopted or unmapped. */
    if (rack->mags_mapping)
        for (sz_region_t r = rack->mags[SZ_MAG_DEPOT].first; r; r = r->next)
            r->pinned = 0;
    for (int i = SZ_MAG_DEPOT; i < (int)rack->nmags; i++) {
        sz_lock_reinit(&rack->mags[i].lock);
        mallet_lock_reinit(&rack->mags[i].alloc_lock);
    }
    mallet_lock_reinit(&rack->region_lock);
}
