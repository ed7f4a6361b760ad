/*
 * scalable_large.c — large blocks: page-granular, one mapping each
 * (ALLOCATOR_REFERENCE §C.7).
 *
 * Every large block is its own mapping of whole pages, recorded in an
 * open-addressing table keyed by address ((addr >> page_shift) % capacity,
 * linear probing; a deletion re-inserts the rest of its probe chain so
 * lookups never need tombstones). The table grows to 2n+1 entries when more
 * than a quarter full.
 *
 * Death row: a freed block up to the per-entry limit is not unmapped but
 * parked in a ring, newest last. Depth and limit follow libmalloc: 64
 * entries / 512 MiB with >= 32 GiB of RAM, else 16 / 128 MiB. A request up
 * to the limit scans the ring newest to oldest for the best fit and takes
 * it only if the waste is smaller than the request ("no more than 2x"), so
 * a 1 MiB request never pins a 4 MiB cached block. Cached bytes beyond
 * ~0.1% of RAM are madvised (MADV_FREE). A full ring evicts and unmaps its
 * oldest entry.
 *
 * MallocGuardEdges puts a PROT_NONE page before (unless
 * MallocDoNotProtectPrelude) and after (unless MallocDoNotProtectPostlude)
 * each block; guarded blocks are never cached or grown in place.
 * In-place growth maps the following pages with MAP_FIXED_NOREPLACE (Apple
 * uses vm_allocate at a fixed address; neither clobbers a neighbour).
 */
#include "scalable_internal.h"

#include <errno.h>
#include <string.h>

#define SZ_LARGE_CACHE_MAX 64u

static size_t hash_slot(const sz_large_t *L, uintptr_t addr)
{
    return (size_t)((addr / sz_page()) % L->capacity);
}

static sz_large_entry_t *table_map(size_t capacity, size_t *bytes)
{
    *bytes = sz_round_up(capacity * sizeof(sz_large_entry_t), sz_page());
    sz_large_entry_t *t = mallet_os_map(NULL, *bytes, MALLET_PROT_RW);
    if (t)
        mallet_os_name_mapping(t, *bytes, "scalable large table");
    return t;
}

int sz_large_init(sz_zone_t *z)
{
    sz_large_t *L = &z->large;
    memset(L, 0, sizeof *L);
    mallet_lock_init(&L->lock);
    L->capacity = sz_page() / sizeof(sz_large_entry_t) - 1;
    L->table = table_map(L->capacity, &L->table_bytes);
    if (L->table == NULL)
        return ENOMEM;
    bool big = mallet_os_physical_memory() >= ((uint64_t)32 << 30);
    L->cache_depth = z->s.large_cache ? (big ? 64 : 16) : 0;
    L->cache_entry_limit = big ? (size_t)512 << 20 : (size_t)128 << 20;
    L->cache_budget = (size_t)(mallet_os_physical_memory() >> 10);
    L->cache_map_bytes = sz_round_up(SZ_LARGE_CACHE_MAX * (sizeof(sz_large_entry_t) + 1), sz_page());
    L->cache_mapping = mallet_os_map(NULL, L->cache_map_bytes, MALLET_PROT_RW);
    if (L->cache_mapping == NULL) {
        mallet_os_unmap(L->table, L->table_bytes);
        return ENOMEM;
    }
    L->cache = L->cache_mapping;
    L->cache_advised = (bool *)(L->cache + SZ_LARGE_CACHE_MAX);
    L->relief_armed = true;
    return 0;
}

static void unmap_entry(sz_large_t *L, const sz_large_entry_t *e)
{
    mallet_os_unmap((void *)e->map_addr, e->map_size);
    L->bytes_mapped -= e->map_size;
}

/* Uses only the table and the ring, which live outside the heap. */
void sz_large_destroy(sz_zone_t *z)
{
    sz_large_t *L = &z->large;
    if (L->table) {
        for (size_t i = 0; i < L->capacity; i++)
            if (L->table[i].addr)
                unmap_entry(L, &L->table[i]);
        mallet_os_unmap(L->table, L->table_bytes);
    }
    if (L->cache) {
        for (size_t i = 0; i < L->cache_count; i++)
            unmap_entry(L, &L->cache[i]);
        mallet_os_unmap(L->cache_mapping, L->cache_map_bytes);
    }
    L->table = NULL;
    L->cache = NULL;
}

static sz_large_entry_t *lookup(sz_large_t *L, uintptr_t addr)
{
    size_t i = hash_slot(L, addr);
    for (size_t n = 0; n < L->capacity; n++, i = (i + 1) % L->capacity) {
        if (L->table[i].addr == addr)
            return &L->table[i];
        if (L->table[i].addr == 0)
            return NULL;
    }
    return NULL;
}

static void put(sz_large_t *L, const sz_large_entry_t *e)
{
    size_t i = hash_slot(L, e->addr);
    while (L->table[i].addr != 0)
        i = (i + 1) % L->capacity;
    L->table[i] = *e;
}

static bool insert(sz_large_t *L, const sz_large_entry_t *e)
{
    if ((L->used + 1) * 4 > L->capacity) {
        size_t cap = 2 * L->capacity + 1, bytes;
        sz_large_entry_t *t = table_map(cap, &bytes);
        if (t == NULL)
            return false;
        sz_large_entry_t *old = L->table;
        size_t old_cap = L->capacity, old_bytes = L->table_bytes;
        L->table = t;
        L->capacity = cap;
        L->table_bytes = bytes;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].addr)
                put(L, &old[i]);
        mallet_os_unmap(old, old_bytes);
    }
    put(L, e);
    L->used++;
    return true;
}

static void remove_entry(sz_large_t *L, sz_large_entry_t *e)
{
    size_t i = (size_t)(e - L->table);
    L->table[i].addr = 0;
    L->used--;
    /* Re-insert the rest of the probe chain so no lookup stops early. */
    for (size_t j = (i + 1) % L->capacity; L->table[j].addr; j = (j + 1) % L->capacity) {
        sz_large_entry_t moved = L->table[j];
        L->table[j].addr = 0;
        put(L, &moved);
    }
}

static void cache_take(sz_large_t *L, size_t k)
{
    L->cache_bytes -= L->cache[k].size;
    if (!L->cache_advised[k])
        L->cache_unadvised -= L->cache[k].size;
    memmove(&L->cache[k], &L->cache[k + 1], (L->cache_count - k - 1) * sizeof *L->cache);
    memmove(&L->cache_advised[k], &L->cache_advised[k + 1], L->cache_count - k - 1);
    L->cache_count--;
}

/* Newest is at the end of the ring array. */
static bool cache_find(sz_large_t *L, size_t size, size_t align, sz_large_entry_t *out)
{
    size_t best = SIZE_MAX, best_k = 0;
    for (size_t k = L->cache_count; k-- > 0;) {
        const sz_large_entry_t *c = &L->cache[k];
        if (c->size < size || (c->addr & (align - 1)))
            continue;
        size_t waste = c->size - size;
        if (waste >= size)
            continue; /* would waste more than the request: no more than 2x */
        if (waste < best) {
            best = waste;
            best_k = k;
            if (waste == 0)
                break;
        }
    }
    if (best == SIZE_MAX)
        return false;
    *out = L->cache[best_k];
    cache_take(L, best_k);
    return true;
}

void *sz_large_malloc(sz_zone_t *z, size_t n, size_t align, bool cleared)
{
    sz_large_t *L = &z->large;
    size_t page = sz_page();
    if (align < page)
        align = page;
    if (n > SIZE_MAX - 4 * page - align)
        return NULL;
    size_t size = n ? sz_round_up(n, page) : page;
    bool guard = z->s.guard_edges[0] != 0;
    sz_large_entry_t e;
    mallet_lock(&L->lock);
    if (!guard && size <= L->cache_entry_limit && cache_find(L, size, align, &e)) {
        if (!insert(L, &e)) {
            unmap_entry(L, &e);
            mallet_unlock(&L->lock);
            return NULL;
        }
        L->bytes_in_use += e.size;
        L->blocks_in_use++;
        mallet_unlock(&L->lock);
        if (cleared)
            memset((void *)e.addr, 0, n);
        return (void *)e.addr;
    }
    mallet_unlock(&L->lock);

    size_t pre = guard && !z->s.no_prelude ? align : 0;
    size_t post = guard && !z->s.no_postlude ? page : 0;
    if (size > SIZE_MAX - pre - post - page)
        return NULL;
    uint8_t *map = mallet_os_map_aligned(pre + size + post, align, MALLET_PROT_RW);
    if (map == NULL)
        return NULL;
    mallet_os_name_mapping(map, pre + size + post, "scalable large");
    if (pre)
        mallet_os_protect(map + pre - page, page, MALLET_PROT_NONE);
    if (post)
        mallet_os_protect(map + pre + size, page, MALLET_PROT_NONE);
    e = (sz_large_entry_t){(uintptr_t)map + pre, size, pre + size + post, (uintptr_t)map};
    mallet_lock(&L->lock);
    bool ok = insert(L, &e);
    if (ok) {
        L->bytes_in_use += size;
        L->blocks_in_use++;
        L->bytes_mapped += e.map_size;
    }
    mallet_unlock(&L->lock);
    if (!ok) {
        mallet_os_unmap(map, e.map_size);
        return NULL;
    }
    return (void *)e.addr; /* fresh mappings are zero-filled */
}

static bool on_death_row(const sz_large_t *L, uintptr_t addr)
{
    for (size_t k = 0; k < L->cache_count; k++)
        if (L->cache[k].addr == addr)
            return true;
    return false;
}

bool sz_large_free(sz_zone_t *z, void *p, bool report_unknown)
{
    sz_large_t *L = &z->large;
    size_t page = sz_page();
    mallet_lock(&L->lock);
    sz_large_entry_t *found = lookup(L, (uintptr_t)p);
    if (found == NULL) {
        bool dead = on_death_row(L, (uintptr_t)p);
        mallet_unlock(&L->lock);
        if (dead)
            SZ_REPORT(z, MALLET_ERR_DOUBLE_FREE, false, p,
                      "pointer %p being freed already on death-row", p);
        else if (!report_unknown)
            return false;
        else if (((uintptr_t)p & (page - 1)) == 0)
            SZ_REPORT(z, MALLET_ERR_INVALID_FREE, false, p,
                      "pointer %p being freed was not allocated", p);
        else
            SZ_REPORT(z, MALLET_ERR_INVALID_FREE, false, p,
                      "non-page-aligned, non-allocated pointer %p being freed", p);
        return true;
    }
    sz_large_entry_t e = *found;
    remove_entry(L, found);
    L->bytes_in_use -= e.size;
    L->blocks_in_use--;
    if (z->s.scribble)
        memset((void *)e.addr, 0x55, e.size);
    bool cacheable = L->cache_depth && e.size <= L->cache_entry_limit && e.map_size == e.size;
    if (!cacheable) {
        /* Unmapped after unlocking, as libmalloc deallocates outside the
         * zone lock: the entry is in no table any more. */
        L->bytes_mapped -= e.map_size;
        mallet_unlock(&L->lock);
        mallet_os_unmap((void *)e.map_addr, e.map_size);
        return true;
    }
    sz_large_entry_t evicted = {0, 0, 0, 0};
    if (L->cache_count == L->cache_depth) {
        evicted = L->cache[0];
        cache_take(L, 0);
        L->bytes_mapped -= evicted.map_size;
    }
    bool advise = L->cache_unadvised + e.size > L->cache_budget;
    if (advise)
        mallet_os_decommit((void *)e.addr, e.size, MALLET_DECOMMIT_LAZY);
    L->cache[L->cache_count] = e;
    L->cache_advised[L->cache_count] = advise;
    L->cache_count++;
    L->cache_bytes += e.size;
    if (!advise)
        L->cache_unadvised += e.size;
    mallet_unlock(&L->lock);
    if (evicted.map_addr)
        mallet_os_unmap((void *)evicted.map_addr, evicted.map_size);
    return true;
}

size_t sz_large_size(sz_zone_t *z, const void *p)
{
    sz_large_t *L = &z->large;
    if ((uintptr_t)p & (sz_page() - 1))
        return 0;
    mallet_lock(&L->lock); /* the table pointer itself changes when it grows */
    sz_large_entry_t *e = L->table ? lookup(L, (uintptr_t)p) : NULL;
    size_t n = e ? e->size : 0;
    mallet_unlock(&L->lock);
    return n;
}

bool sz_large_claimed(sz_zone_t *z, const void *p)
{
    sz_large_t *L = &z->large;
    uintptr_t a = (uintptr_t)p;
    bool hit = false;
    mallet_lock(&L->lock);
    for (size_t i = 0; i < L->capacity && !hit; i++)
        hit = L->table[i].addr && a >= L->table[i].map_addr &&
              a - L->table[i].map_addr < L->table[i].map_size;
    for (size_t k = 0; k < L->cache_count && !hit; k++)
        hit = a >= L->cache[k].addr && a - L->cache[k].addr < L->cache[k].size;
    mallet_unlock(&L->lock);
    return hit;
}

bool sz_large_resize(sz_zone_t *z, void *p, size_t n)
{
    sz_large_t *L = &z->large;
    size_t page = sz_page();
    if (n > SIZE_MAX - 2 * page)
        return false;
    size_t size = n ? sz_round_up(n, page) : page;
    bool ok = false;
    mallet_lock(&L->lock);
    sz_large_entry_t *e = lookup(L, (uintptr_t)p);
    if (e && e->map_size == e->size) {
        if (size <= e->size) {
            if (size <= e->size / 2) { /* give back the tail pages */
                mallet_os_unmap((uint8_t *)p + size, e->size - size);
                L->bytes_mapped -= e->size - size;
                L->bytes_in_use -= e->size - size;
                e->size = e->map_size = size;
            }
            ok = true;
        } else {
            /* Grow by mapping the pages right after the block. */
            size_t extra = size - e->size;
            void *q = mallet_os_map_fixed((uint8_t *)p + e->size, extra, MALLET_PROT_RW);
            if (q) {
                mallet_os_name_mapping(q, extra, "scalable large");
                L->bytes_mapped += extra;
                L->bytes_in_use += extra;
                e->size = e->map_size = size;
                ok = true;
            }
        }
    }
    mallet_unlock(&L->lock);
    return ok;
}

size_t sz_large_pressure_relief(sz_zone_t *z)
{
    sz_large_t *L = &z->large;
    size_t n = 0;
    mallet_lock(&L->lock);
    while (L->cache_count) {
        sz_large_entry_t e = L->cache[0];
        cache_take(L, 0);
        n += e.map_size;
        unmap_entry(L, &e);
    }
    mallet_unlock(&L->lock);
    return n;
}

/* Table invariants; reports the first problem. Caller holds L->lock. */
int sz_large_check(sz_zone_t *z)
{
    sz_large_t *L = &z->large;
    size_t used = 0, bytes = 0, page = sz_page();
    for (size_t i = 0; i < L->capacity; i++) {
        const sz_large_entry_t *e = &L->table[i];
        if (!e->addr)
            continue;
        used++;
        bytes += e->size;
        if ((e->addr & (page - 1)) || e->size == 0 || (e->size & (page - 1)) ||
            e->map_size < e->size || lookup(L, e->addr) != e) {
            SZ_REPORT(z, MALLET_ERR_CHECK_FAILED, true, (void *)e->addr,
                      "check: large entry %zu (%p, %zu bytes) is inconsistent", i, (void *)e->addr,
                      e->size);
            return 0;
        }
        if (on_death_row(L, e->addr)) {
            SZ_REPORT(z, MALLET_ERR_CHECK_FAILED, true, (void *)e->addr,
                      "check: large block %p is both live and on death-row", (void *)e->addr);
            return 0;
        }
    }
    if (used != L->used || bytes != L->bytes_in_use || used != L->blocks_in_use) {
        SZ_REPORT(z, MALLET_ERR_CHECK_FAILED, true, NULL,
                  "check: large table counts %zu entries / %zu bytes, counters say %zu / %zu",
                  used, bytes, L->used, L->bytes_in_use);
        return 0;
    }
    return 1;
}

void sz_large_enumerate(sz_zone_t *z, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    sz_large_t *L = &z->large;
    mallet_range_t buf[64];
    unsigned n = 0;
    for (unsigned type = MALLET_ENUM_BLOCKS; type <= MALLET_ENUM_REGIONS; type <<= 1) {
        if (!(mask & type))
            continue;
        for (size_t i = 0; i < L->capacity; i++) {
            const sz_large_entry_t *e = &L->table[i];
            if (!e->addr)
                continue;
            buf[n++] = type == MALLET_ENUM_BLOCKS ? (mallet_range_t){e->addr, e->size}
                                                  : (mallet_range_t){e->map_addr, e->map_size};
            if (n == 64) {
                rec(ctx, type, buf, n);
                n = 0;
            }
        }
        if (n) {
            rec(ctx, type, buf, n);
            n = 0;
        }
    }
    if (mask & MALLET_ENUM_ADMIN) {
        mallet_range_t a[2] = {{(uintptr_t)L->table, L->table_bytes},
                               {(uintptr_t)L->cache_mapping, L->cache_map_bytes}};
        rec(ctx, MALLET_ENUM_ADMIN, a, 2);
    }
}
