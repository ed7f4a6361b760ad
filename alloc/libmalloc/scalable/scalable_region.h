/*
 * scalable_region.h — region layout of the scalable zone (ALLOCATOR_REFERENCE
 * §C.1-§C.5, §C.9).
 *
 * Design. Tiny, small and medium blocks live in fixed-size regions that are
 * aligned to their own size, so the region of any pointer is `ptr & ~(size-1)`
 * and ownership is one probe of the tier's hash ring. Every region starts with
 * its metadata (trailer, per-quantum bookkeeping, cookie) and ends with the
 * heap, exactly sized as in libmalloc-792:
 *   tiny   1 MiB,   64,504 quanta of 16 B,  {header, inuse} bitmap pairs;
 *   small  8 MiB,   16,319 quanta of 512 B, one uint16 meta word per quantum;
 *   medium 128 MiB,  4,095 quanta of 32 KiB, meta words plus madvise words.
 * The layout is the same idea as Apple's; the code is ours.
 *
 * Linux differences on purpose: Apple gets aligned regions from
 * mach_vm_map() with an alignment mask; we map size + alignment and trim
 * (mallet_os_map_aligned). Region mapping happens with no magazine lock
 * held (§C.9, the 646.40.3 alloc-lock scheme), see scalable_rack.c.
 */
#ifndef MALLET_SCALABLE_REGION_H
#define MALLET_SCALABLE_REGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/os.h"

/* ---- tiers ------------------------------------------------------------- */

typedef enum sz_tier {
    SZ_TINY = 0,
    SZ_SMALL = 1,
    SZ_MEDIUM = 2,
    SZ_NTIERS = 3, /* tiers that use regions; large is separate */
} sz_tier_t;

#define SZ_TINY_QSHIFT 4u
#define SZ_TINY_QUANTUM (1u << SZ_TINY_QSHIFT)
#define SZ_TINY_REGION_SHIFT 20u
#define SZ_TINY_REGION_SIZE ((size_t)1 << SZ_TINY_REGION_SHIFT)
#define SZ_TINY_NQUANTA 64504u
#define SZ_TINY_MAX_MSIZE 63u /* 1008 B: the largest tiny request in quanta */
#define SZ_TINY_LIMIT (SZ_TINY_MAX_MSIZE * SZ_TINY_QUANTUM)
#define SZ_TINY_SLOTS 64u     /* 63 exact + overflow */
#define SZ_TINY_BITMAP_WORDS 2016u /* 32-bit {header,inuse} pairs */

#define SZ_SMALL_QSHIFT 9u
#define SZ_SMALL_QUANTUM (1u << SZ_SMALL_QSHIFT)
#define SZ_SMALL_REGION_SHIFT 23u
#define SZ_SMALL_REGION_SIZE ((size_t)1 << SZ_SMALL_REGION_SHIFT)
#define SZ_SMALL_NQUANTA 16319u
#define SZ_SMALL_LIMIT ((size_t)32 << 10)
#define SZ_SMALL_MAX_MSIZE (SZ_SMALL_LIMIT >> SZ_SMALL_QSHIFT) /* 64 */
#define SZ_SMALL_SLOTS 65u /* slot msize-1 for msize <= 64, 64 = overflow */

#define SZ_MEDIUM_QSHIFT 15u
#define SZ_MEDIUM_QUANTUM (1u << SZ_MEDIUM_QSHIFT)
#define SZ_MEDIUM_REGION_SHIFT 27u
#define SZ_MEDIUM_REGION_SIZE ((size_t)1 << SZ_MEDIUM_REGION_SHIFT)
#define SZ_MEDIUM_NQUANTA 4095u
#define SZ_MEDIUM_LIMIT ((size_t)8 << 20)
#define SZ_MEDIUM_MAX_MSIZE (SZ_MEDIUM_LIMIT >> SZ_MEDIUM_QSHIFT) /* 256 */
#define SZ_MEDIUM_SLOTS 257u

#define SZ_MAX_SLOTS 257u /* list heads per magazine, as libmalloc */

/* Meta words (small, medium): block start holds msize, bit 15 = free.
 * A free block is marked at its first AND last quantum so the neighbour
 * after it can find its start in O(1); middles are 0. */
#define SZ_META_FREE 0x8000u
#define SZ_META_MSIZE 0x7fffu
/* Medium madvise words: bit 15 = the run is clean (madvised), size at both
 * ends of the run. */
#define SZ_MADV_CLEAN 0x8000u

#define SZ_MAG_DEPOT (-1)

/* ---- region trailer ---------------------------------------------------- */

/* Lives at the start of each region (Apple calls it the trailer because it
 * used to follow the heap). Protected by the owning magazine's lock. */
typedef struct sz_region_trailer {
    struct sz_region_trailer *prev, *next; /* the owner's region list */
    size_t bytes_used;      /* bytes in allocated blocks */
    uint32_t objects_in_use;
    int32_t mag_index;      /* owning magazine, SZ_MAG_DEPOT in the depot */
    uint32_t pinned;        /* >0 while being madvised with the lock dropped */
    bool recirc_suitable;   /* may be given to the depot */
    uint8_t tier;
    uint16_t pad0;
    /* First never-carved quantum; [tail_start, nquanta) is the region's free
     * tail that only the magazine's last region may carve from. */
    uint32_t tail_start;
    uint32_t pad1;
} sz_region_trailer_t;

typedef sz_region_trailer_t *sz_region_t;

/* Tiny: trailer, bitmap pairs, cookie, then the heap at the very end. */
typedef struct sz_tiny_meta {
    sz_region_trailer_t trailer;
    uint32_t pairs[SZ_TINY_BITMAP_WORDS][2]; /* [w][0] header, [w][1] inuse */
    uint32_t cookie;
} sz_tiny_meta_t;

/* Small out-of-band free-list entry (§C.4): the list entry of a free block
 * that starts on a page and spans at least a page lives here, in the pad
 * between the meta words and the heap, so every page of the block can be
 * madvised. Links are raw entry addresses (no checksum: the pad is never
 * handed to the program); `ptr` = quantum index | SZ_SMALL_IS_OOB, 0 when
 * the slot is unused (then prev = next = ~0). Packed to 18 bytes. */
typedef struct __attribute__((packed)) sz_small_oob {
    uintptr_t prev, next;
    uint16_t ptr;
} sz_small_oob_t;
#define SZ_SMALL_IS_OOB 0x8000u
/* As many as fit in the pad of our layout (libmalloc's own layout has 61). */
#define SZ_SMALL_OOB_COUNT 32u

/* Small: trailer, meta words, out-of-band entries, cookie, heap. */
typedef struct sz_small_meta {
    sz_region_trailer_t trailer;
    uint16_t meta[SZ_SMALL_NQUANTA];
    sz_small_oob_t oob[SZ_SMALL_OOB_COUNT];
    /* bit i set iff oob[i] is in use: mallet's shortcut for the slot
     * searches (libmalloc scans the array) */
    uint32_t oob_used;
    uint32_t cookie;
} sz_small_meta_t;
_Static_assert(SZ_SMALL_OOB_COUNT <= 32, "oob_used is one word");

/* Medium: trailer, meta words, madvise words, cookie, heap. */
typedef struct sz_medium_meta {
    sz_region_trailer_t trailer;
    uint16_t meta[SZ_MEDIUM_NQUANTA];
    uint16_t madv[SZ_MEDIUM_NQUANTA];
    uint32_t cookie;
} sz_medium_meta_t;

#define SZ_TINY_HEAP_OFFSET (SZ_TINY_REGION_SIZE - (size_t)SZ_TINY_NQUANTA * SZ_TINY_QUANTUM)
#define SZ_SMALL_HEAP_OFFSET (SZ_SMALL_REGION_SIZE - (size_t)SZ_SMALL_NQUANTA * SZ_SMALL_QUANTUM)
#define SZ_MEDIUM_HEAP_OFFSET (SZ_MEDIUM_REGION_SIZE - (size_t)SZ_MEDIUM_NQUANTA * SZ_MEDIUM_QUANTUM)

_Static_assert(sizeof(sz_tiny_meta_t) <= SZ_TINY_HEAP_OFFSET, "tiny metadata too large");
_Static_assert(sizeof(sz_small_meta_t) <= SZ_SMALL_HEAP_OFFSET, "small metadata too large");
_Static_assert(sizeof(sz_medium_meta_t) <= SZ_MEDIUM_HEAP_OFFSET, "medium metadata too large");

/* Static description of a tier, indexed by sz_tier_t. */
typedef struct sz_tier_info {
    const char *name;
    unsigned qshift;
    size_t region_size;
    size_t heap_offset;
    uint32_t nquanta;
    uint32_t max_msize; /* largest request in quanta */
    uint32_t nslots;    /* list heads incl. overflow */
} sz_tier_info_t;

extern const sz_tier_info_t sz_tiers[SZ_NTIERS];

/* The per-tier constants as inline switches rather than loads from
 * sz_tiers[]: where t is a compile-time constant (the specialised fast
 * paths in scalable_magazine.c) they fold to immediates. */
static inline unsigned sz_qshift(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_QSHIFT : t == SZ_SMALL ? SZ_SMALL_QSHIFT : SZ_MEDIUM_QSHIFT;
}
static inline size_t sz_region_size(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_REGION_SIZE : t == SZ_SMALL ? SZ_SMALL_REGION_SIZE : SZ_MEDIUM_REGION_SIZE;
}
static inline size_t sz_heap_offset(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_HEAP_OFFSET : t == SZ_SMALL ? SZ_SMALL_HEAP_OFFSET : SZ_MEDIUM_HEAP_OFFSET;
}
static inline uint32_t sz_nquanta(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_NQUANTA : t == SZ_SMALL ? SZ_SMALL_NQUANTA : SZ_MEDIUM_NQUANTA;
}
static inline uint32_t sz_max_msize(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_MAX_MSIZE : t == SZ_SMALL ? SZ_SMALL_MAX_MSIZE : SZ_MEDIUM_MAX_MSIZE;
}
static inline uint32_t sz_nslots(sz_tier_t t)
{
    return t == SZ_TINY ? SZ_TINY_SLOTS : t == SZ_SMALL ? SZ_SMALL_SLOTS : SZ_MEDIUM_SLOTS;
}

static inline sz_region_t sz_region_of(sz_tier_t t, const void *p)
{
    return (sz_region_t)((uintptr_t)p & ~(sz_region_size(t) - 1));
}
static inline uint8_t *sz_heap(sz_tier_t t, sz_region_t r)
{
    return (uint8_t *)r + sz_heap_offset(t);
}
/* Quantum index of p in its region; may be out of range for metadata. */
static inline uintptr_t sz_index_of(sz_tier_t t, sz_region_t r, const void *p)
{
    return ((uintptr_t)p - (uintptr_t)sz_heap(t, r)) >> sz_qshift(t);
}
static inline void *sz_ptr_of(sz_tier_t t, sz_region_t r, uint32_t index)
{
    return sz_heap(t, r) + ((size_t)index << sz_qshift(t));
}
static inline size_t sz_heap_bytes(sz_tier_t t)
{
    return (size_t)sz_nquanta(t) << sz_qshift(t);
}
static inline uint32_t *sz_region_cookie_slot(sz_tier_t t, sz_region_t r)
{
    switch (t) {
    case SZ_TINY: return &((sz_tiny_meta_t *)r)->cookie;
    case SZ_SMALL: return &((sz_small_meta_t *)r)->cookie;
    default: return &((sz_medium_meta_t *)r)->cookie;
    }
}

/* ---- region hash ring (§C.2) ------------------------------------------- */

/* Open-addressed set of region bases. Readers are lock-free: a grown ring is
 * published with a release store and the old one is retired, not freed,
 * until the rack is destroyed (Apple leaks it; we keep a list so destroy()
 * can unmap it). */
#define SZ_HASH_EMPTY ((uintptr_t)0)
#define SZ_HASH_DELETED (~(uintptr_t)0)

typedef struct sz_hash_ring {
    struct sz_hash_ring *retired; /* older generation, freed at destroy */
    size_t capacity;              /* power of two */
    unsigned shift;               /* 64 - log2(capacity) */
    size_t map_bytes;
    uintptr_t slots[];
} sz_hash_ring_t;

typedef struct sz_region_set {
    sz_hash_ring_t *_Atomic ring;
    size_t count;           /* live regions, under the rack's region lock */
    size_t used;            /* live + deleted slots */
} sz_region_set_t;

int sz_region_set_init(sz_region_set_t *set);
void sz_region_set_destroy(sz_region_set_t *set);
/* Lock-free lookup: true if `base` is a live region. The first probe is
 * inline (it answers almost every lookup: the ring is kept under half
 * full); collisions continue out of line. */
bool sz_region_set_probe(const sz_hash_ring_t *h, uintptr_t base, size_t i);
#define SZ_HASH_MULT 11400714819323198549ull
static inline bool sz_region_set_contains(const sz_region_set_t *set, uintptr_t base)
{
    const sz_hash_ring_t *h = atomic_load_explicit(&set->ring, memory_order_acquire);
    if (h == NULL || base == 0)
        return false;
    size_t i = (size_t)(((uint64_t)(base >> 20) * SZ_HASH_MULT) >> h->shift);
    uintptr_t v = __atomic_load_n(&h->slots[i], __ATOMIC_ACQUIRE);
    if (v == base)
        return true;
    if (v == SZ_HASH_EMPTY)
        return false;
    return sz_region_set_probe(h, base, i);
}
/* Under the rack's region lock. Insert may grow the ring (maps memory). */
int sz_region_set_insert(sz_region_set_t *set, uintptr_t base);
void sz_region_set_remove(sz_region_set_t *set, uintptr_t base);
/* Calls fn for each live region base (under the region lock). */
void sz_region_set_foreach(const sz_region_set_t *set,
                           void (*fn)(uintptr_t base, void *ctx), void *ctx);

/* ---- mapping ----------------------------------------------------------- */

/* Map a zeroed, size-aligned region for tier t and write its cookie. */
sz_region_t sz_region_map(sz_tier_t t, uint32_t cookie, bool guard_postlude);
void sz_region_unmap(sz_tier_t t, sz_region_t r, bool guard_postlude);
/* Verify the cookie; on mismatch reports "Region cookie corrupted..." and
 * returns false. */
struct sz_zone;
bool sz_region_cookie_report(struct sz_zone *z, sz_tier_t t, sz_region_t r);
static inline bool sz_region_cookie_ok_v(struct sz_zone *z, sz_tier_t t, sz_region_t r, uint32_t cookie)
{
    if (__builtin_expect(*sz_region_cookie_slot(t, r) == cookie, 1))
        return true;
    return sz_region_cookie_report(z, t, r);
}
bool sz_region_cookie_ok(struct sz_zone *z, sz_tier_t t, sz_region_t r);

#endif /* MALLET_SCALABLE_REGION_H */
