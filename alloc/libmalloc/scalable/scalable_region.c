/*
 * scalable_region.c — region mapping, the region cookie and the region hash
 * ring (ALLOCATOR_REFERENCE §C.2, §C.9).
 *
 * A region is mapped size-aligned so its base is `ptr & ~(size - 1)`.
 * Linux has no mach_vm_map alignment mask: mallet_os_map_aligned maps
 * size + alignment and trims the ends. Regions come back zero-filled, which
 * every tier relies on (an all-zero bitmap / meta array means "nothing
 * carved yet").
 *
 * The hash ring answers "is this base one of our regions?" without a lock,
 * because free() and size() ask it for every pointer. Writers hold the
 * rack's region lock. Growing publishes a new ring and keeps the old one on
 * a retired list (Apple leaks it): a reader still probing the old ring sees
 * a consistent, if stale, table.
 */
#include "scalable_internal.h"

#include <errno.h>
#include <string.h>

const sz_tier_info_t sz_tiers[SZ_NTIERS] = {
    [SZ_TINY] = {"tiny", SZ_TINY_QSHIFT, SZ_TINY_REGION_SIZE, SZ_TINY_HEAP_OFFSET,
                 SZ_TINY_NQUANTA, SZ_TINY_MAX_MSIZE, SZ_TINY_SLOTS},
    [SZ_SMALL] = {"small", SZ_SMALL_QSHIFT, SZ_SMALL_REGION_SIZE, SZ_SMALL_HEAP_OFFSET,
                  SZ_SMALL_NQUANTA, SZ_SMALL_MAX_MSIZE, SZ_SMALL_SLOTS},
    [SZ_MEDIUM] = {"medium", SZ_MEDIUM_QSHIFT, SZ_MEDIUM_REGION_SIZE, SZ_MEDIUM_HEAP_OFFSET,
                   SZ_MEDIUM_NQUANTA, SZ_MEDIUM_MAX_MSIZE, SZ_MEDIUM_SLOTS},
};

/* ---- mapping --------------------------------------------------------------- */

sz_region_t sz_region_map(sz_tier_t t, uint32_t cookie, bool guard_postlude)
{
    size_t size = sz_tiers[t].region_size;
    /* MallocGuardEdges=all (libmalloc 792, MALLOC_FIX_GUARD_PAGE_FLAGS):
     * tiny/small/medium regions get a postlude guard page only, mapped
     * right after the region (outside its aligned size, so it costs no
     * quanta). Plain MallocGuardEdges guards large blocks only. */
    size_t guard = guard_postlude ? sz_page() : 0;
    sz_region_t r = mallet_os_map_aligned(size + guard, size, MALLET_PROT_RW);
    if (r == NULL)
        return NULL;
    if (guard && mallet_os_protect((uint8_t *)r + size, guard, MALLET_PROT_NONE) != 0) {
        mallet_os_unmap(r, size + guard);
        return NULL;
    }
    mallet_os_name_mapping(r, size, sz_tiers[t].name);
    r->tier = (uint8_t)t;
    r->recirc_suitable = true;
    *sz_region_cookie_slot(t, r) = cookie;
    return r;
}

void sz_region_unmap(sz_tier_t t, sz_region_t r, bool guard_postlude)
{
    mallet_os_unmap(r, sz_tiers[t].region_size + (guard_postlude ? sz_page() : 0));
}

bool sz_region_cookie_report(struct sz_zone *z, sz_tier_t t, sz_region_t r)
{
    uint32_t v = *sz_region_cookie_slot(t, r);
    if (v == z->region_cookie)
        return true;
    SZ_REPORT(z, MALLET_ERR_METADATA_CORRUPTION, true, r,
              "Region cookie corrupted for region %p (value is %x)[%p]", (void *)r, v,
              (void *)sz_region_cookie_slot(t, r));
    return false;
}

bool sz_region_cookie_ok(struct sz_zone *z, sz_tier_t t, sz_region_t r)
{
    return sz_region_cookie_ok_v(z, t, r, z->region_cookie);
}

/* ---- hash ring -------------------------------------------------------------- */

#define SZ_HASH_INITIAL 64u

static sz_hash_ring_t *ring_new(size_t capacity)
{
    size_t bytes = sz_round_up(sizeof(sz_hash_ring_t) + capacity * sizeof(uintptr_t), sz_page());
    sz_hash_ring_t *h = mallet_os_map(NULL, bytes, MALLET_PROT_RW);
    if (h == NULL)
        return NULL;
    h->capacity = capacity;
    h->shift = 64u - (unsigned)__builtin_ctzll(capacity);
    h->map_bytes = bytes;
    h->retired = NULL;
    return h; /* zero-filled: every slot SZ_HASH_EMPTY */
}

static size_t ring_home(const sz_hash_ring_t *h, uintptr_t base)
{
    return (size_t)(((uint64_t)(base >> 20) * SZ_HASH_MULT) >> h->shift);
}

int sz_region_set_init(sz_region_set_t *set)
{
    sz_hash_ring_t *h = ring_new(SZ_HASH_INITIAL);
    if (h == NULL)
        return ENOMEM;
    atomic_store_explicit(&set->ring, h, memory_order_release);
    set->count = set->used = 0;
    return 0;
}

void sz_region_set_destroy(sz_region_set_t *set)
{
    sz_hash_ring_t *h = atomic_load_explicit(&set->ring, memory_order_relaxed);
    while (h) {
        sz_hash_ring_t *older = h->retired;
        mallet_os_unmap(h, h->map_bytes);
        h = older;
    }
    atomic_store_explicit(&set->ring, NULL, memory_order_relaxed);
}

bool sz_region_set_probe(const sz_hash_ring_t *h, uintptr_t base, size_t i)
{
    size_t mask = h->capacity - 1;
    for (size_t n = 0; n < h->capacity; n++, i = (i + 1) & mask) {
        uintptr_t v = __atomic_load_n(&h->slots[i], __ATOMIC_ACQUIRE);
        if (v == base)
            return true;
        if (v == SZ_HASH_EMPTY)
            return false;
    }
    return false;
}

static void ring_put(sz_hash_ring_t *h, uintptr_t base)
{
    size_t mask = h->capacity - 1;
    size_t i = ring_home(h, base);
    while (h->slots[i] != SZ_HASH_EMPTY && h->slots[i] != SZ_HASH_DELETED)
        i = (i + 1) & mask;
    __atomic_store_n(&h->slots[i], base, __ATOMIC_RELEASE);
}

int sz_region_set_insert(sz_region_set_t *set, uintptr_t base)
{
    sz_hash_ring_t *h = atomic_load_explicit(&set->ring, memory_order_relaxed);
    /* Grow (and drop tombstones) before the table is half full, so linear
     * probes stay short and always meet an empty slot. */
    if (h->capacity < 2 * (set->used + 1)) {
        size_t cap = h->capacity;
        while (cap < 4 * (set->count + 1))
            cap *= 2;
        sz_hash_ring_t *n = ring_new(cap);
        if (n == NULL)
            return ENOMEM;
        for (size_t i = 0; i < h->capacity; i++)
            if (h->slots[i] != SZ_HASH_EMPTY && h->slots[i] != SZ_HASH_DELETED)
                ring_put(n, h->slots[i]);
        n->retired = h;
        atomic_store_explicit(&set->ring, n, memory_order_release);
        set->used = set->count;
        h = n;
    }
    ring_put(h, base);
    set->count++;
    set->used++;
    return 0;
}

void sz_region_set_remove(sz_region_set_t *set, uintptr_t base)
{
    sz_hash_ring_t *h = atomic_load_explicit(&set->ring, memory_order_relaxed);
    size_t mask = h->capacity - 1;
    size_t i = ring_home(h, base);
    for (size_t n = 0; n < h->capacity; n++, i = (i + 1) & mask) {
        if (h->slots[i] == base) {
            __atomic_store_n(&h->slots[i], SZ_HASH_DELETED, __ATOMIC_RELEASE);
            set->count--;
            return;
        }
        if (h->slots[i] == SZ_HASH_EMPTY)
            return;
    }
}

void sz_region_set_foreach(const sz_region_set_t *set, void (*fn)(uintptr_t base, void *ctx),
                           void *ctx)
{
    const sz_hash_ring_t *h = atomic_load_explicit(&set->ring, memory_order_acquire);
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->capacity; i++) {
        uintptr_t v = h->slots[i];
        if (v != SZ_HASH_EMPTY && v != SZ_HASH_DELETED)
            fn(v, ctx);
    }
}
