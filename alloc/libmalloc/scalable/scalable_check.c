/*
 * scalable_check.c — introspection: check, enumerate, statistics, print
 * (ALLOCATOR_REFERENCE §A.2 for the contract, §C for the invariants).
 *
 * check() takes every lock of the zone and walks, per tier, every region of
 * every magazine (depot included):
 *   - the region cookie and the owner recorded in the trailer;
 *   - the block chain from the first quantum to the free tail: each
 *     position must start an allocated or a free block (bitmaps / meta
 *     words consistent, sizes in range), no two free blocks adjacent
 *     (coalescing would have merged them);
 *   - the trailer's bytes/objects counters against the walk, and the
 *     magazine counters against the sum of its regions;
 * then every free list: links decode (checksums), prev/next agree, each
 * entry is a free block of the right slot in a region of that magazine,
 * the slot bitmap matches, and the lists hold exactly the free blocks the
 * region walk found. Small also: every used out-of-band entry names a
 * distinct page-aligned free block of a page or more, and the lists meet
 * exactly the used ones. Then the large table. The first problem is reported
 * as MALLET_ERR_CHECK_FAILED with what and where; check() returns 0.
 * Checksums are verified quietly here so the report is a check failure,
 * not a free-list corruption abort from inside the walk.
 */
#include "scalable_internal.h"

#include <stdarg.h>
#include <stdio.h>

static int fail(sz_zone_t *z, const void *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(sz_zone_t *z, const void *where, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SZ_REPORT(z, MALLET_ERR_CHECK_FAILED, true, where, "check: %s", msg);
    return 0;
}

static bool quiet_decode(const sz_rack_t *rack, uintptr_t stored, void **out)
{
    uintptr_t p = ((stored << 4) | (stored >> 60)) & ~(uintptr_t)0xF;
    *out = (void *)p;
    return sz_link_encode(rack, (void *)p) == stored;
}

/* Small: every used out-of-band slot of r names a distinct free block
 * that qualifies for one (page-aligned, at least a page); unused slots
 * are all-empty. Adds the used slots to *noob (the list walk must meet
 * exactly that many oob entries). */
static int check_oob(sz_rack_t *rack, sz_region_t r, size_t *noob)
{
    sz_zone_t *z = rack->zone;
    sz_small_oob_t *oob = ((sz_small_meta_t *)r)->oob;
    uint32_t used = ((sz_small_meta_t *)r)->oob_used;
    for (unsigned i = 0; i < SZ_SMALL_OOB_COUNT; i++) {
        if (((used >> i) & 1) != (oob[i].ptr != 0))
            return fail(z, &oob[i], "small region %p: out-of-band entry %u (0x%x) disagrees with the "
                                    "used-slot mask 0x%x", (void *)r, i, oob[i].ptr, used);
        if (oob[i].ptr == 0)
            continue;
        uint32_t idx = oob[i].ptr & ~SZ_SMALL_IS_OOB;
        void *b = sz_ptr_of(SZ_SMALL, r, idx);
        uint32_t fm = idx < SZ_SMALL_NQUANTA && (oob[i].ptr & SZ_SMALL_IS_OOB)
                          ? rack->ops->free_msize(r, idx) : 0;
        if (fm == 0 || !sz_small_needs_oob(b, fm, rack->page_size))
            return fail(z, &oob[i], "small region %p: out-of-band entry %u (0x%x) names %p, "
                                    "not a page-aligned free block of a page or more",
                        (void *)r, i, oob[i].ptr, b);
        for (unsigned j = 0; j < i; j++)
            if (oob[j].ptr == oob[i].ptr)
                return fail(z, &oob[i], "small region %p: out-of-band entries %u and %u both name %p",
                            (void *)r, j, i, b);
        (*noob)++;
    }
    return 1;
}

/* Medium: the madvise words cut [from, from+n) into runs exactly (length
 * at both ends, 0 between); with whole set, [from, +n) must be one run. */
static int check_runs(sz_zone_t *z, sz_region_t r, uint32_t from, uint32_t n, bool whole)
{
    const uint16_t *madv = ((sz_medium_meta_t *)r)->madv;
    uint32_t pos = from, end = from + n;
    while (pos < end) {
        uint32_t len = madv[pos] & ~SZ_MADV_CLEAN;
        if (len == 0 || pos + len > end || madv[pos + len - 1] != madv[pos] || (whole && len != n))
            return fail(z, sz_ptr_of(SZ_MEDIUM, r, pos),
                        "medium region %p: madvise words at quantum %u (0x%x) do not make a run of "
                        "the block [%u, %u)", (void *)r, pos, madv[pos], from, end);
        for (uint32_t i = pos + 1; i + 1 < pos + len; i++)
            if (madv[i] != 0)
                return fail(z, sz_ptr_of(SZ_MEDIUM, r, i),
                            "medium region %p: madvise word %u (0x%x) inside a run", (void *)r, i, madv[i]);
        pos += len;
    }
    return 1;
}

/* Walk one region; adds its free blocks to *nfree. */
static int check_region(sz_rack_t *rack, sz_magazine_t *m, int mi, sz_region_t r, size_t *nfree)
{
    sz_zone_t *z = rack->zone;
    sz_tier_t t = rack->tier;
    const char *tn = sz_tiers[t].name;
    const sz_tier_ops_t *ops = rack->ops;
    uint32_t nq = sz_tiers[t].nquanta;
    if (*sz_region_cookie_slot(t, r) != z->region_cookie)
        return fail(z, r, "%s region %p: region cookie corrupted (value is %x)", tn, (void *)r,
                    *sz_region_cookie_slot(t, r));
    if (r->mag_index != mi)
        return fail(z, r, "%s region %p: trailer says magazine %d, found in magazine %d", tn,
                    (void *)r, r->mag_index, mi);
    if (r->tail_start > nq || (r->tail_start < nq && r != m->last_region))
        return fail(z, r, "%s region %p: free tail at quantum %u but region is not the last one",
                    tn, (void *)r, r->tail_start);
    size_t bytes = 0, objects = 0;
    bool prev_free = false;
    uint32_t idx = 0;
    while (idx < r->tail_start) {
        uint32_t ms = ops->inuse_msize(r, idx);
        if (ms) {
            if (idx + ms > r->tail_start)
                return fail(z, sz_ptr_of(t, r, idx), "%s block %p: size %u quanta runs past the heap",
                            tn, sz_ptr_of(t, r, idx), ms);
            if (t == SZ_MEDIUM && !check_runs(z, r, idx, ms, true))
                return 0;
            bytes += (size_t)ms << sz_tiers[t].qshift;
            objects++;
            idx += ms;
            prev_free = false;
            continue;
        }
        uint32_t fm = ops->free_msize(r, idx);
        if (fm == 0)
            return fail(z, sz_ptr_of(t, r, idx),
                        "%s region %p: quantum %u (%p) starts no block (bitmap/meta words damaged)",
                        tn, (void *)r, idx, sz_ptr_of(t, r, idx));
        if (prev_free)
            return fail(z, sz_ptr_of(t, r, idx), "%s free block %p follows another free block",
                        tn, sz_ptr_of(t, r, idx));
        prev_free = true;
        if (t == SZ_MEDIUM && !check_runs(z, r, idx, fm, false))
            return 0;
        (*nfree)++;
        idx += fm;
    }
    if (t == SZ_MEDIUM)
        for (uint32_t i = r->tail_start; i < nq; i++)
            if (((sz_medium_meta_t *)r)->madv[i] != 0)
                return fail(z, sz_ptr_of(t, r, i), "medium region %p: madvise word %u set in the free tail",
                            (void *)r, i);
    /* Partial frees (memalign, in-place shrink) keep the object count, so
     * objects may exceed the walk only... never the reverse. */
    if (bytes != r->bytes_used || objects > r->objects_in_use)
        return fail(z, r, "%s region %p: walk finds %zu bytes in %zu blocks, trailer says %zu / %u",
                    tn, (void *)r, bytes, objects, r->bytes_used, r->objects_in_use);
    return 1;
}

static int check_lists(sz_rack_t *rack, sz_magazine_t *m, int mi, size_t expect, size_t expect_oob)
{
    sz_zone_t *z = rack->zone;
    sz_tier_t t = rack->tier;
    const char *tn = sz_tiers[t].name;
    size_t seen = 0, seen_oob = 0;
    for (unsigned s = 0; s < sz_tiers[t].nslots; s++) {
        bool bit = (m->bitmap[s >> 6] >> (s & 63)) & 1;
        if (bit != (m->heads[s] != NULL))
            return fail(z, m->heads[s], "%s magazine %d: slot %u bitmap bit %d but head %p", tn, mi,
                        s, bit, m->heads[s]);
        if (t == SZ_SMALL && m->heads[s] &&
            (uint8_t)m->heads_enc[s] != sz_ck((uintptr_t)m->heads[s] ^ rack->list_cookie))
            return fail(z, m->heads[s], "small magazine %d: slot %u head %p has a stale cached checksum",
                        mi, s, m->heads[s]);
        void *prev = NULL;
        for (void *e = m->heads[s]; e;) {
            /* small lists link entries, possibly out of band */
            sz_region_t r = NULL;
            void *b = t == SZ_SMALL && sz_rack_owns(rack, e, &r) ? sz_small_entry_block(e) : e;
            if (((uintptr_t)b & ((1u << sz_tiers[t].qshift) - 1)) || !sz_rack_owns(rack, b, &r) ||
                (uintptr_t)b < (uintptr_t)sz_heap(t, r))
                return fail(z, b, "%s magazine %d slot %u: entry %p is not in any region", tn, mi,
                            s, b);
            if (r->mag_index != mi)
                return fail(z, b, "%s magazine %d slot %u: entry %p belongs to magazine %d", tn,
                            mi, s, b, r->mag_index);
            uint32_t fm = rack->ops->free_msize(r, (uint32_t)sz_index_of(t, r, b));
            if (fm == 0 || sz_slot_for(t, fm) != s)
                return fail(z, b, "%s magazine %d slot %u: entry %p is not a free block of that size (%u quanta)",
                            tn, mi, s, b, fm);
            uintptr_t *links = e;
            void *p, *n;
            bool ok = t == SZ_SMALL ? sz_small_link_get(rack, e, 0, &p, true) &&
                                          sz_small_link_get(rack, e, 1, &n, true)
                                    : quiet_decode(rack, links[0], &p) && quiet_decode(rack, links[1], &n);
            if (!ok)
                return fail(z, b, "Incorrect checksum for freed object %p: probably modified after "
                                  "being freed (free list of %s magazine %d)",
                            b, tn, mi);
            if (p != prev)
                return fail(z, b, "%s magazine %d slot %u: entry %p has prev %p, expected %p", tn,
                            mi, s, e, p, prev);
            if (t == SZ_SMALL && sz_small_is_oob(e)) {
                if (sz_small_oob_find(rack, b, fm) != e)
                    return fail(z, b, "small magazine %d slot %u: out-of-band entry %p is not "
                                      "the one its block %p resolves to", mi, s, e, b);
                seen_oob++;
            }
            if (++seen > expect)
                return fail(z, b, "%s magazine %d: free lists hold more entries than the %zu free blocks (cycle?)",
                            tn, mi, expect);
            prev = e;
            e = n;
        }
    }
    if (seen != expect)
        return fail(z, m, "%s magazine %d: free lists hold %zu entries, regions have %zu free blocks",
                    tn, mi, seen, expect);
    if (seen_oob != expect_oob)
        return fail(z, m, "%s magazine %d: free lists hold %zu out-of-band entries, regions have %zu in use",
                    tn, mi, seen_oob, expect_oob);
    return 1;
}

static int check_rack(sz_rack_t *rack)
{
    sz_zone_t *z = rack->zone;
    const char *tn = sz_tiers[rack->tier].name;
    size_t regions = 0, heap = sz_heap_bytes(rack->tier);
    for (int mi = SZ_MAG_DEPOT; mi < (int)rack->nmags; mi++) {
        sz_magazine_t *m = &rack->mags[mi];
        size_t nfree = 0, noob = 0, bytes = 0, objects = 0, n = 0;
        bool last_seen = m->last_region == NULL;
        for (sz_region_t r = m->first; r; r = r->next) {
            if (!sz_region_set_contains(&rack->regions, (uintptr_t)r))
                return fail(z, r, "%s magazine %d: region %p is not in the region hash", tn, mi,
                            (void *)r);
            if (++n > rack->regions.count)
                return fail(z, m, "%s magazine %d: region list longer than the hash (cycle?)", tn, mi);
            if (!check_region(rack, m, mi, r, &nfree))
                return 0;
            if (rack->tier == SZ_SMALL && !check_oob(rack, r, &noob))
                return 0;
            bytes += r->bytes_used;
            objects += r->objects_in_use;
            last_seen |= r == m->last_region;
        }
        if (!last_seen)
            return fail(z, m->last_region, "%s magazine %d: last region %p is not in its list", tn,
                        mi, (void *)m->last_region);
        if (n != m->nregions || bytes != m->bytes_used || objects != m->objects ||
            m->bytes_owned != n * heap)
            return fail(z, m, "%s magazine %d: counters (%zu regions, %zu bytes, %zu objects, %zu owned) "
                              "disagree with its regions (%zu, %zu, %zu, %zu)",
                        tn, mi, m->nregions, m->bytes_used, m->objects, m->bytes_owned, n, bytes,
                        objects, n * heap);
        if (m->lf_ptr && (m->lf_region == NULL || m->lf_region->mag_index != mi ||
                          rack->ops->inuse_msize(m->lf_region, (uint32_t)sz_index_of(rack->tier, m->lf_region, m->lf_ptr)) != m->lf_msize))
            return fail(z, m->lf_ptr, "%s magazine %d: last-free cache %p is inconsistent", tn, mi,
                        m->lf_ptr);
        if (!check_lists(rack, m, mi, nfree, noob))
            return 0;
        regions += n;
    }
    if (regions != rack->regions.count)
        return fail(z, NULL, "%s: magazines hold %zu regions, the region hash %zu", tn, regions,
                    rack->regions.count);
    return 1;
}

static void lock_all(sz_zone_t *z)
{
    z->base.introspect->force_lock(&z->base);
}
static void unlock_all(sz_zone_t *z)
{
    z->base.introspect->force_unlock(&z->base);
}

int sz_check(mallet_zone_t *zone)
{
    sz_zone_t *z = (sz_zone_t *)zone;
    lock_all(z);
    int ok = 1;
    for (int t = 0; t < SZ_NTIERS && ok; t++)
        ok = check_rack(&z->racks[t]);
    if (ok)
        ok = sz_large_check(z);
    unlock_all(z);
    return ok;
}

/* ---- enumerate ------------------------------------------------------------------ */

typedef struct batch {
    mallet_range_t r[256];
    unsigned n, type;
    void *ctx;
    mallet_range_recorder_t rec;
} batch_t;

static void emit(batch_t *b, uintptr_t a, size_t n)
{
    b->r[b->n++] = (mallet_range_t){a, n};
    if (b->n == 256) {
        b->rec(b->ctx, b->type, b->r, b->n);
        b->n = 0;
    }
}
static void flush(batch_t *b)
{
    if (b->n)
        b->rec(b->ctx, b->type, b->r, b->n);
    b->n = 0;
}

int sz_enumerate(mallet_zone_t *zone, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    sz_zone_t *z = (sz_zone_t *)zone;
    batch_t b = {.ctx = ctx, .rec = rec};
    lock_all(z);
    for (unsigned type = MALLET_ENUM_BLOCKS; type <= MALLET_ENUM_ADMIN; type <<= 1) {
        if (!(mask & type))
            continue;
        b.type = type;
        for (int t = 0; t < SZ_NTIERS; t++) {
            sz_rack_t *rack = &z->racks[t];
            for (int mi = SZ_MAG_DEPOT; mi < (int)rack->nmags; mi++) {
                sz_magazine_t *m = &rack->mags[mi];
                for (sz_region_t r = m->first; r; r = r->next) {
                    if (type == MALLET_ENUM_REGIONS) {
                        emit(&b, (uintptr_t)r, sz_tiers[t].region_size);
                        continue;
                    }
                    if (type == MALLET_ENUM_ADMIN) {
                        emit(&b, (uintptr_t)r, sz_tiers[t].heap_offset);
                        continue;
                    }
                    for (uint32_t idx = 0; idx < r->tail_start;) {
                        uint32_t ms = rack->ops->inuse_msize(r, idx);
                        if (ms) {
                            void *p = sz_ptr_of((sz_tier_t)t, r, idx);
                            if (p != m->lf_ptr)
                                emit(&b, (uintptr_t)p, (size_t)ms << sz_tiers[t].qshift);
                            idx += ms;
                            continue;
                        }
                        uint32_t fm = rack->ops->free_msize(r, idx);
                        if (fm == 0)
                            break; /* damaged: check() reports it */
                        idx += fm;
                    }
                }
            }
            if (type == MALLET_ENUM_ADMIN)
                emit(&b, (uintptr_t)rack->mags_mapping, rack->mags_map_bytes);
        }
        if (type == MALLET_ENUM_ADMIN)
            emit(&b, (uintptr_t)z, z->map_bytes);
        flush(&b);
    }
    sz_large_enumerate(z, mask, ctx, rec);
    unlock_all(z);
    return 0;
}

/* ---- statistics, print -------------------------------------------------------------- */

void sz_statistics(mallet_zone_t *zone, mallet_zone_stats_t *st)
{
    sz_zone_t *z = (sz_zone_t *)zone;
    size_t blocks = 0, bytes = 0, mapped = 0;
    for (int t = 0; t < SZ_NTIERS; t++) {
        sz_rack_t *rack = &z->racks[t];
        for (int mi = SZ_MAG_DEPOT; mi < (int)rack->nmags; mi++) {
            sz_magazine_t *m = &rack->mags[mi];
            sz_lock(&m->lock);
            blocks += m->objects;
            bytes += m->bytes_used;
            mapped += m->nregions * sz_tiers[t].region_size;
            if (m->lf_ptr) { /* a cached block is free as far as callers know */
                blocks--;
                bytes -= (size_t)m->lf_msize << sz_tiers[t].qshift;
            }
            sz_unlock(&m->lock);
        }
    }
    mallet_lock(&z->large.lock);
    blocks += z->large.blocks_in_use;
    bytes += z->large.bytes_in_use;
    mapped += z->large.bytes_mapped;
    mallet_unlock(&z->large.lock);
    if (bytes > z->max_in_use)
        z->max_in_use = bytes;
    st->version = MALLET_STATS_VERSION;
    st->struct_size = sizeof *st;
    st->blocks_in_use = blocks;
    st->size_in_use = bytes;
    st->max_size_in_use = 0; /* not tracked */
    st->size_allocated = mapped;
}

void sz_print(mallet_zone_t *zone, int fd, bool verbose)
{
    sz_zone_t *z = (sz_zone_t *)zone;
    mallet_zone_stats_t st;
    sz_statistics(zone, &st);
    mallet_os_printf(fd, "scalable zone %p: %zu blocks, %zu bytes in use, %zu bytes mapped; medium %s\n",
                     (void *)z, st.blocks_in_use, st.size_in_use, st.size_allocated,
                     z->medium_on ? "on" : "off");
    for (int t = 0; t < SZ_NTIERS; t++) {
        sz_rack_t *rack = &z->racks[t];
        mallet_os_printf(fd, "  %-6s %zu regions, %u magazines\n", sz_tiers[t].name,
                         rack->regions.count, rack->nmags);
        if (!verbose)
            continue;
        for (int mi = SZ_MAG_DEPOT; mi < (int)rack->nmags; mi++) {
            sz_magazine_t *m = &rack->mags[mi];
            sz_lock(&m->lock);
            mallet_os_printf(fd, "    mag %2d: %zu regions, %zu objects, %zu/%zu bytes used/owned\n",
                             mi, m->nregions, m->objects, m->bytes_used, m->bytes_owned);
            sz_unlock(&m->lock);
        }
    }
    mallet_os_printf(fd, "  large  %zu blocks, %zu bytes; death row %zu entries, %zu bytes\n",
                     z->large.blocks_in_use, z->large.bytes_in_use, z->large.cache_count,
                     z->large.cache_bytes);
}
