/*
 * scalable_internal.h — shared state of the scalable zone: the zone, one
 * rack per region tier, magazines, the tier operations table and the
 * settings (ALLOCATOR_REFERENCE §C.2, §C.10).
 *
 * Design. Allocation and freeing of tiny, small and medium blocks follow
 * one algorithm (free lists per msize with an overflow slot, split,
 * coalesce both neighbours, carve from the last region's tail, last-free
 * cache, depot recirculation). What differs per tier is how a region
 * records block boundaries: tiny uses {header, inuse} bitmaps and keeps a
 * free block's size inline, small and medium use one meta word per quantum.
 * So the algorithm lives once in scalable_magazine.c and each tier supplies
 * an sz_tier_ops_t (scalable_tiny.c, scalable_small.c, scalable_medium.c).
 * libmalloc duplicates the algorithm per tier; the behaviour is the same.
 *
 * Locks: magazine lock -> depot lock -> rack region lock (libmalloc's order).
 * The large allocator has its own lock and never nests with the others.
 */
#ifndef MALLET_SCALABLE_INTERNAL_H
#define MALLET_SCALABLE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mallet/mallet.h"
#include "mallet/options.h"
#include "os/os.h"
#include "scalable_lock.h"
#include "scalable_region.h"

#define SZ_BACKEND_ID "scalable"
#define SZ_MAX_MAGAZINES 64u

/* ---- settings (one table in scalable_debug.c) ---------------------------- */
typedef struct sz_settings {
    bool scribble;            /* MallocScribble */
    char guard_edges[8];      /* MallocGuardEdges: "", "1", "all" */
    bool no_prelude, no_postlude;
    long check_start;         /* MallocCheckHeapStart, 0 = off */
    long check_each;          /* MallocCheckHeapEach */
    long check_sleep;         /* MallocCheckHeapSleep */
    bool check_abort;         /* MallocCheckHeapAbort */
    long max_magazines;       /* MallocMaxMagazines, 0 = CPUs */
    bool large_cache;         /* MallocLargeCache */
    bool zero_on_free;        /* MallocZeroOnFree */
    bool error_abort;         /* MallocErrorAbort */
    char log_file[MALLET_OPT_STRING_MAX]; /* MallocLogFile */
    bool help;                /* MallocHelp */
    long medium;              /* MallocMediumZone: -1 auto, 0 off, 1 on */
    long recirc_retained;     /* MallocRecircRetainedRegions */
    bool aggressive_madvise;  /* MallocAggressiveMadvise */
} sz_settings_t;

/* ---- magazines and racks ------------------------------------------------ */

/* Bitmap of non-empty free-list slots (257 slots). */
#define SZ_BITMAP_WORDS ((SZ_MAX_SLOTS + 63) / 64)

typedef struct sz_magazine {
    sz_lock_t lock;
    /* Held while this magazine maps a new region, so that only one thread
     * per magazine makes the syscall and none holds `lock` meanwhile. */
    mallet_lock_t alloc_lock;
    /* Last-free cache: one freed block kept marked in use. */
    void *lf_ptr;
    uint32_t lf_msize;
    sz_region_t lf_region;
    /* Free lists; heads are raw pointers, links inside blocks are encoded. */
    void *heads[SZ_MAX_SLOTS];
    uint64_t bitmap[SZ_BITMAP_WORDS];
    /* heads_enc[s] == sz_link_encode(heads[s]) whenever heads[s] != NULL
     * (undefined otherwise): the head's encoding is what a push stores in
     * the new block's next link and what unlinking the head compares its
     * successor's prev link against, so keeping it saves a checksum there;
     * a pop gets the new head's encoding for free (the stored next link).
     * Small keeps the head's 8-bit link checksum here instead. */
    uintptr_t heads_enc[SZ_MAX_SLOTS];
    sz_region_t last_region;  /* the region whose free tail we carve */
    size_t bytes_used;        /* bytes in allocated blocks of owned regions */
    size_t bytes_owned;       /* heap bytes of owned regions */
    size_t objects;
    sz_region_t first, last;  /* region list */
    size_t nregions;
    char pad[64];
} sz_magazine_t;

typedef struct sz_rack {
    sz_tier_t tier;
    unsigned nmags;
    sz_magazine_t *mags;       /* mags[-1] is the depot */
    void *mags_mapping;
    size_t mags_map_bytes;
    mallet_lock_t region_lock; /* protects `regions` updates */
    sz_region_set_t regions;
    uintptr_t list_cookie;     /* free-list checksum cookie */
    uintptr_t list_null;       /* encoded NULL link (sz_link_encode(rack, NULL)) */
    size_t page_size;          /* the kernel page (small's out-of-band rule) */
    uint8_t small_ck_null;     /* small: the 8-bit checksum of a NULL link */
    struct sz_zone *zone;
    const struct sz_tier_ops *ops;
} sz_rack_t;

/* How a tier records block boundaries (see the design note on top). All are
 * called with the owning magazine's lock held. Indices are quanta. */
typedef struct sz_tier_ops {
    /* msize of the allocated block starting at idx, else 0 */
    uint32_t (*inuse_msize)(sz_region_t r, uint32_t idx);
    /* msize of the free block starting at idx, else 0 */
    uint32_t (*free_msize)(sz_region_t r, uint32_t idx);
    /* start and msize of a free block ending right before idx */
    bool (*prev_free)(sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize);
    void (*set_inuse)(sz_region_t r, uint32_t idx, uint32_t msize);
    void (*set_free)(sz_region_t r, uint32_t idx, uint32_t msize);
    /* forget the marks of the block [idx, idx+msize) (it is being merged) */
    void (*unmark)(sz_region_t r, uint32_t idx, uint32_t msize);
    /* idx becomes the region's free-tail start */
    void (*mark_tail)(sz_region_t r, uint32_t idx);
    uint32_t lf_max_msize;     /* last-free cache takes msize < this */
    const char *msg_double_free;
    const char *msg_misaligned;
    const char *msg_metadata;
} sz_tier_ops_t;

extern const sz_tier_ops_t sz_tiny_ops, sz_small_ops, sz_medium_ops;

/* Inline bookkeeping of each tier: scalable_blocks.h. */

/* ---- large ------------------------------------------------------------ */
typedef struct sz_large_entry {
    uintptr_t addr;   /* user address; 0 empty */
    size_t size;      /* user bytes (page multiple) */
    size_t map_size;  /* bytes mapped incl. guard pages */
    uintptr_t map_addr;
} sz_large_entry_t;

typedef struct sz_large {
    mallet_lock_t lock;
    sz_large_entry_t *table;
    size_t capacity, used, table_bytes;
    /* death row: ring of cached blocks, newest at (head-1) */
    sz_large_entry_t *cache;
    bool *cache_advised;
    size_t cache_depth, cache_count, cache_head;
    size_t cache_entry_limit, cache_bytes, cache_unadvised, cache_budget;
    bool relief_armed;
    size_t bytes_in_use, blocks_in_use, bytes_mapped;
    void *cache_mapping;
    size_t cache_map_bytes;
} sz_large_t;

/* ---- the zone ----------------------------------------------------------- */
typedef struct sz_zone {
    mallet_zone_t base;
    sz_settings_t s;
    sz_rack_t racks[SZ_NTIERS];
    bool medium_on;
    size_t large_threshold;   /* requests above go to large */
    size_t small_limit;       /* requests above go to medium (if on) */
    uint64_t entropy;
    uint32_t region_cookie;
    bool guard_regions;
    sz_large_t large;
    size_t map_bytes;         /* bytes of this struct's own mapping */
    atomic_long ops;          /* MallocCheckHeap operation counter */
    int log_fd;
    size_t max_in_use;
    bool free_fill;           /* scribble or zero_on_free: free writes the block */
} sz_zone_t;

/* ---- shared helpers ------------------------------------------------------ */
static inline size_t sz_page(void) { return mallet_os_page_size(); }
static inline size_t sz_round_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

#define SZ_REPORT(z, kind, corrupt, ptr, ...)                                   \
    mallet_report(&(z)->base, SZ_BACKEND_ID, (kind), MALLET_STYLE_LIBMALLOC,    \
                  (corrupt), (ptr), __VA_ARGS__)

/* scalable_rack.c */
int sz_rack_init(sz_zone_t *z, sz_rack_t *rack, sz_tier_t t, unsigned nmags);
void sz_rack_destroy(sz_rack_t *rack);
static inline sz_magazine_t *sz_rack_current_mag(sz_rack_t *rack, int *index)
{
    /* cpu % nmags, without the division (tens of cycles) in the usual
     * case of one magazine per CPU */
    unsigned i = 0;
    if (rack->nmags > 1) {
        unsigned cpu = (unsigned)mallet_os_current_cpu_inline();
        i = cpu < rack->nmags ? cpu : cpu % rack->nmags;
    }
    *index = (int)i;
    return &rack->mags[i];
}
/* Locks and returns the magazine owning r (re-checked after locking). */
static inline sz_magazine_t *sz_rack_lock_owner(sz_rack_t *rack, sz_region_t r, int *index)
{
    for (;;) {
        int32_t mi = __atomic_load_n(&r->mag_index, __ATOMIC_ACQUIRE);
        sz_magazine_t *m = &rack->mags[mi];
        sz_lock(&m->lock);
        if (__builtin_expect(__atomic_load_n(&r->mag_index, __ATOMIC_RELAXED) == mi, 1)) {
            *index = mi;
            return m;
        }
        sz_unlock(&m->lock); /* migrated meanwhile: follow it */
    }
}
/* The same for a rack known to be of tier t (the region mask folds). */
static inline bool sz_rack_owns_t(const sz_rack_t *rack, sz_tier_t t, const void *p, sz_region_t *out)
{
    if (rack->mags_mapping == NULL)
        return false;
    uintptr_t base = (uintptr_t)p & ~(sz_region_size(t) - 1);
    if (!sz_region_set_contains(&rack->regions, base))
        return false;
    *out = (sz_region_t)base;
    return true;
}
static inline bool sz_rack_owns(const sz_rack_t *rack, const void *p, sz_region_t *out)
{
    return sz_rack_owns_t(rack, rack->tier, p, out);
}
/* Region for a new allocation when magazine m (locked) has nothing:
 * adopts a depot region or maps one (dropping m's lock meanwhile).
 * Returns true if the caller should retry the allocation. */
bool sz_rack_refill(sz_rack_t *rack, sz_magazine_t *m, int mag_index, uint32_t msize);
/* After a free into magazine m (locked): maybe hand a region to the depot.
 * True if it did, and then m has been unlocked. */
bool sz_rack_maybe_recirculate(sz_rack_t *rack, sz_magazine_t *m, int mag_index);
/* Free of [freed_idx, +freed_msize) into a depot region finished, forming
 * the free block [idx, +msize): madvise, maybe unmap. depot locked; the
 * lock is dropped (region pinned) around the madvise. */
void sz_rack_depot_after_free(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize,
                              uint32_t freed_idx, uint32_t freed_msize);
size_t sz_rack_pressure_relief(sz_rack_t *rack);
void sz_rack_lock_all(sz_rack_t *rack);
void sz_rack_unlock_all(sz_rack_t *rack);
void sz_rack_reinit_locks(sz_rack_t *rack);
/* madvise the whole pages strictly inside a free block, keeping its list
 * entry and trailing size. Returns bytes advised. */
size_t sz_advise_free_block(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize);

/* scalable_freelist.c */
typedef struct sz_free_entry {
    uintptr_t prev, next; /* encoded */
} sz_free_entry_t;

static inline unsigned sz_slot_for(sz_tier_t t, uint32_t msize)
{
    uint32_t max = sz_max_msize(t);
    return msize <= max ? msize - 1 : max; /* last slot = overflow */
}
static inline uint8_t sz_ck(uintptr_t x)
{
    uint32_t a = (uint32_t)x + (uint32_t)(x >> 32);
    uint16_t b = (uint16_t)((uint16_t)a + (uint16_t)(a >> 16));
    return (uint8_t)((uint8_t)b + (uint8_t)(b >> 8));
}
static inline uintptr_t sz_link_encode(const sz_rack_t *rack, void *p)
{
    uintptr_t v = (uintptr_t)p;
    return (v >> 4) | ((uintptr_t)(sz_ck(v ^ rack->list_cookie) & 0xF) << 60);
}
/* Quiet decode: false if the checksum does not match. */
static inline __attribute__((always_inline)) bool sz_link_try_decode(const sz_rack_t *rack, uintptr_t stored, void **out)
{
    uintptr_t v = (stored << 4) | (stored >> 60);
    uintptr_t p = v & ~(uintptr_t)0xF;
    *out = (void *)p;
#ifdef MALLET_SEEDED_BUG_SZ_CHECKSUM /* seeded bug: tiny links are not checksummed */
    if (rack->tier == SZ_TINY)
        return true;
#endif
    return (sz_ck(p ^ rack->list_cookie) & 0xF) == (v & 0xF);
}
static inline void sz_bit_set(sz_magazine_t *m, unsigned slot)
{
    m->bitmap[slot >> 6] |= (uint64_t)1 << (slot & 63);
}
static inline void sz_bit_clear(sz_magazine_t *m, unsigned slot)
{
    m->bitmap[slot >> 6] &= ~((uint64_t)1 << (slot & 63));
}
/* ---- small: in-place and out-of-band entries (scalable_small_list.c) ----
 * A small list links *entries*: the free block itself (in-place entry
 * {ptr, 8-bit ck}{ptr, 8-bit ck}) or a slot of the region's oob array
 * (sz_small_oob_t) for a block that starts on a page and spans a page. */
static inline bool sz_small_needs_oob(const void *block, uint32_t msize, size_t page)
{
    return ((uintptr_t)block & (page - 1)) == 0 && ((size_t)msize << SZ_SMALL_QSHIFT) >= page;
}
static inline bool sz_small_is_oob(const void *entry)
{
    sz_small_meta_t *r = (sz_small_meta_t *)((uintptr_t)entry & ~(SZ_SMALL_REGION_SIZE - 1));
    return (uintptr_t)entry >= (uintptr_t)&r->oob[0] &&
           (uintptr_t)entry < (uintptr_t)&r->oob[SZ_SMALL_OOB_COUNT];
}
/* The block a small list entry stands for. */
static inline void *sz_small_entry_block(void *entry)
{
    if (entry == NULL || !sz_small_is_oob(entry))
        return entry;
    sz_region_t r = (sz_region_t)((uintptr_t)entry & ~(SZ_SMALL_REGION_SIZE - 1));
    return sz_ptr_of(SZ_SMALL, r, ((sz_small_oob_t *)entry)->ptr & ~SZ_SMALL_IS_OOB);
}
/* The oob slot holding block's entry, or NULL (entry in place). */
/* Inline, defined in scalable_small_list.h (included at the end). */
static inline sz_small_oob_t *sz_small_oob_find(const sz_rack_t *rack, void *block, uint32_t msize);
static inline void sz_small_list_push(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx,
                                      uint32_t msize);
static inline bool sz_small_list_remove(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize);
/* Read a link of a small entry (0 prev, 1 next); false after a checksum
 * report (quiet: no report). */
bool sz_small_link_get(sz_rack_t *rack, void *entry, int which, void **out, bool quiet);

void sz_list_push_slow(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize);
bool sz_list_remove_slow(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize);

/* Push the free block [idx, idx+msize) of r (tier t, a constant in the
 * callers that matter) on m's list. */
static inline __attribute__((always_inline)) void
sz_list_push_t(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize)
{
    if (t == SZ_SMALL) {
        sz_small_list_push(rack, m, r, idx, msize);
        return;
    }
    unsigned slot = sz_slot_for(t, msize);
    sz_free_entry_t *e = sz_ptr_of(t, r, idx);
    sz_free_entry_t *head = m->heads[slot];
    uintptr_t ee = sz_link_encode(rack, e);
    if (head) {
        if (__builtin_expect(head->prev != rack->list_null, 0)) {
            sz_list_push_slow(rack, m, r, idx, msize); /* reports */
            return;
        }
        head->prev = ee;
        e->next = m->heads_enc[slot];
    } else {
        sz_bit_set(m, slot);
        e->next = rack->list_null;
    }
    e->prev = rack->list_null;
    m->heads[slot] = e;
    m->heads_enc[slot] = ee;
}

/* Unlink a free block; false (after a report) if the links are corrupt. */
static inline __attribute__((always_inline)) bool
sz_list_remove_t(sz_rack_t *rack, sz_tier_t t, sz_magazine_t *m, void *block, uint32_t msize)
{
    if (t == SZ_SMALL)
        return sz_small_list_remove(rack, m, block, msize);
    unsigned slot = sz_slot_for(t, msize);
    sz_free_entry_t *e = block;
    uintptr_t sp = e->prev, sn = e->next;
    void *prev = NULL, *next = NULL;
    /* list_null is the one stored value that decodes (validly) to NULL, so
     * an end of the list needs a compare, not a checksum. */
    if (__builtin_expect((sp != rack->list_null && !sz_link_try_decode(rack, sp, &prev)) ||
                             (sn != rack->list_null && !sz_link_try_decode(rack, sn, &next)),
                         0))
        return sz_list_remove_slow(rack, m, block, msize);
    /* The checksum is 4 bits (as libmalloc's): 1 damaged link in 16 passes
     * it. Never dereference a neighbour outside this rack's regions; the
     * slow path reports it. A neighbour in block's own region (the usual
     * case: a region's blocks stay together on a list) needs no hash probe. */
    uintptr_t rmask = ~(sz_region_size(t) - 1), own = (uintptr_t)block & rmask;
    if (__builtin_expect(
            (prev && ((uintptr_t)prev & rmask) != own &&
             !sz_region_set_contains(&rack->regions, (uintptr_t)prev & rmask)) ||
                (next && ((uintptr_t)next & rmask) != own &&
                 !sz_region_set_contains(&rack->regions, (uintptr_t)next & rmask)),
            0))
        return sz_list_remove_slow(rack, m, block, msize);
    if (prev == NULL) {
        /* block must be the head, whose encoding is cached */
        if (__builtin_expect(m->heads[slot] != block ||
                                 (next && ((sz_free_entry_t *)next)->prev != m->heads_enc[slot]), 0))
            return sz_list_remove_slow(rack, m, block, msize);
    } else {
        uintptr_t eb = sz_link_encode(rack, block);
        if (__builtin_expect(((sz_free_entry_t *)prev)->next != eb ||
                                 (next && ((sz_free_entry_t *)next)->prev != eb), 0))
            return sz_list_remove_slow(rack, m, block, msize);
    }
    if (next)
        ((sz_free_entry_t *)next)->prev = sp;
    if (prev) {
        ((sz_free_entry_t *)prev)->next = sn;
    } else {
        m->heads[slot] = next;
        m->heads_enc[slot] = sn; /* encode(next) */
        if (next == NULL)
            sz_bit_clear(m, slot);
    }
    return true;
}

void sz_list_push(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize);
bool sz_list_remove(sz_rack_t *rack, sz_magazine_t *m, void *block, uint32_t msize);
/* Decode a stored link; false (after a report) on checksum mismatch. */
bool sz_link_decode(sz_rack_t *rack, void *block, uintptr_t stored, void **out);
void *sz_list_next_raw(sz_rack_t *rack, void *block, bool *ok);
void *sz_list_prev_raw(sz_rack_t *rack, void *block, bool *ok);

/* scalable_magazine.c: the tier-generic block engine */
void *sz_tier_malloc(sz_rack_t *rack, uint32_t msize);
/* The same for a known tier (rack must be that tier's). */
void *sz_tiny_malloc(sz_rack_t *rack, uint32_t msize);
void *sz_small_malloc(sz_rack_t *rack, uint32_t msize);
void *sz_medium_malloc(sz_rack_t *rack, uint32_t msize);
void sz_tiny_free(sz_rack_t *rack, sz_region_t r, void *p);
void sz_small_free(sz_rack_t *rack, sz_region_t r, void *p);
void sz_medium_free(sz_rack_t *rack, sz_region_t r, void *p);
unsigned sz_tier_batch_malloc(sz_rack_t *rack, uint32_t msize, void **out, unsigned count);
/* Frees p known to lie in region r of rack. */
void sz_tier_free(sz_rack_t *rack, sz_region_t r, void *p);
/* In-place resize; true if p now holds new_msize quanta. */
bool sz_tier_resize(sz_rack_t *rack, sz_region_t r, void *p, uint32_t new_msize);
/* Give back [p+keep_head..) style partial ranges of an allocated block:
 * the block at p shrinks to [p+head, p+head+keep) */
void *sz_tier_trim(sz_rack_t *rack, sz_region_t r, void *p, uint32_t head, uint32_t keep);
size_t sz_tier_size(sz_rack_t *rack, sz_region_t r, const void *p);
/* Really free with m locked (coalesce, push, counters); partial: do not
 * count an object. */
void sz_free_locked(sz_rack_t *rack, sz_magazine_t *m, int mag_index, sz_region_t r,
                    uint32_t idx, uint32_t msize, bool partial);
void sz_flush_last_free(sz_rack_t *rack, sz_magazine_t *m, int mag_index);
/* Turn the free tail of r into a listed free block. */
void sz_close_tail(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r);

/* scalable_medium.c */
bool sz_medium_wanted(const sz_settings_t *s);
/* The free medium block [idx, +msize) was formed by freeing [freed_idx,
 * +freed_msize): maybe madvise it, keep the madvise runs (m locked). */
void sz_medium_freed(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize,
                     uint32_t freed_idx, uint32_t freed_msize);
/* A block larger than the madvise window is madvised before it enters the
 * last-free cache (m locked). */
void sz_medium_before_cache(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, void *p, uint32_t msize);
/* Zero the madvise words of [idx, +n) (runs starting at idx). */
void sz_medium_forget_runs(sz_region_t r, uint32_t idx, uint32_t n);
/* The madvise window of magazine m (§C.5). */
size_t sz_medium_window(const sz_magazine_t *m);

/* scalable_large.c */
int sz_large_init(sz_zone_t *z);
void sz_large_destroy(sz_zone_t *z);
void *sz_large_malloc(sz_zone_t *z, size_t n, size_t align, bool cleared);
/* true if p was a large block (freed or reported) */
bool sz_large_free(sz_zone_t *z, void *p, bool report_unknown);
size_t sz_large_size(sz_zone_t *z, const void *p);
bool sz_large_claimed(sz_zone_t *z, const void *p);
bool sz_large_resize(sz_zone_t *z, void *p, size_t n);
size_t sz_large_pressure_relief(sz_zone_t *z);
int sz_large_check(sz_zone_t *z);
void sz_large_enumerate(sz_zone_t *z, unsigned mask, void *ctx, mallet_range_recorder_t rec);

/* scalable_check.c: introspection */
int sz_check(mallet_zone_t *zone);
int sz_enumerate(mallet_zone_t *zone, unsigned mask, void *ctx, mallet_range_recorder_t rec);
void sz_statistics(mallet_zone_t *zone, mallet_zone_stats_t *st);
void sz_print(mallet_zone_t *zone, int fd, bool verbose);

/* scalable_debug.c */
extern const mallet_option_t sz_option_table[];
extern const size_t sz_option_count;
int sz_settings_load(sz_settings_t *s, bool use_env, const char *str, char *err, size_t errlen);
/* MallocCheckHeap: count an operation, maybe check the heap. */
void sz_debug_tick_slow(sz_zone_t *z);
static inline void sz_debug_tick(sz_zone_t *z)
{
    if (__builtin_expect(z->s.check_start > 0, 0))
        sz_debug_tick_slow(z);
}
void sz_debug_zone_created(sz_zone_t *z);

#include "scalable_small_list.h"

#endif /* MALLET_SCALABLE_INTERNAL_H */
