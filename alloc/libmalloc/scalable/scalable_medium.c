/*
 * scalable_medium.c — the medium tier: 32 KiB quanta in 128 MiB regions,
 * blocks up to 8 MiB (ALLOCATOR_REFERENCE §C.1, §C.5).
 *
 * Bookkeeping is the small tier's meta words (scalable_small.c). What
 * medium adds is eager page return, tracked per *run* in the madvise
 * words: the heap below the free tail is cut into runs, each with its
 * length at both ends (bit 15 = clean, i.e. madvised since last use) and
 * 0 in between. An allocated block is one dirty run; a free block is one
 * or more runs, clean and dirty, because coalescing keeps the runs of the
 * blocks it merges. On a free that stays in a magazine (libmalloc's
 * conditional madvise):
 *
 *   dirty = freed block + the dirty run just before it + the dirty run
 *           just after it (inside the coalesced block);
 *   madvise the coalesced block when dirty >= the madvise window, or when
 *   the freed block sits between two clean runs each longer than itself;
 *   then the quantum holding the in-place list entry is a dirty run and
 *   the rest one clean run. Otherwise the freed block and its dirty
 *   neighbouring runs become one dirty run; clean runs stay clean.
 *
 *   window = max(1.5 MiB, smallest power of two > bytes in use / 16)
 *              x 1, 2, 4, 8 for RAM >= 2, 4, 8 x 128 GiB
 *
 * A block larger than the window is madvised before it enters the
 * last-free cache (and is dirty again when the cache hands it out).
 * Differences from libmalloc, on purpose: medium list entries stay in
 * place (libmalloc keeps them out of band like small's), so the first
 * page of a free block is never advised; the depot's madvise (free into a
 * depot region, recirculation, pressure relief) does not mark runs clean,
 * which only errs towards advising again ("dirty" means "maybe not
 * advised"); libmalloc marks a run's unknown remainder clean where we
 * keep each run's exact state.
 *
 * Engagement: libmalloc turns medium on for 64-bit macOS with >= 32 GiB of
 * RAM. MallocMediumZone=1/0 (or the zone option medium=1/0) forces it.
 */
#include "scalable_blocks.h"

#include <string.h>

bool sz_medium_wanted(const sz_settings_t *s)
{
    if (s->medium == 0 || s->medium == 1)
        return s->medium == 1;
    return mallet_os_physical_memory() >= ((uint64_t)32 << 30);
}

size_t sz_medium_window(const sz_magazine_t *m)
{
    size_t w = (size_t)3 << 19; /* 1.5 MiB */
    size_t p = 1;
    while (p <= m->bytes_used / 16)
        p <<= 1;
    if (p > w)
        w = p;
    uint64_t ram = mallet_os_physical_memory(), unit = (uint64_t)128 << 30;
    if (ram >= 8 * unit)
        w *= 8;
    else if (ram >= 4 * unit)
        w *= 4;
    else if (ram >= 2 * unit)
        w *= 2;
    return w;
}

static inline uint16_t run_len(uint16_t w) { return w & (uint16_t)~SZ_MADV_CLEAN; }

static void put_run(uint16_t *madv, uint32_t idx, uint32_t n, bool clean)
{
    uint16_t v = (uint16_t)(n | (clean ? SZ_MADV_CLEAN : 0));
    madv[idx] = v;
    madv[idx + n - 1] = v;
}

void sz_medium_mark_run(sz_region_t r, uint32_t idx, uint32_t n, bool clean)
{
    uint16_t *madv = sz_medium_madv_words(r);
    uint32_t end = idx + n;
    for (uint32_t pos = idx; pos < end;) {
        uint32_t len = run_len(madv[pos]);
        if (len == 0 || pos + len > SZ_MEDIUM_NQUANTA)
            break; /* the untouched tail (or damage): no runs beyond */
        bool was_clean = madv[pos] & SZ_MADV_CLEAN;
        madv[pos] = 0;
        madv[pos + len - 1] = 0;
        if (pos + len > end)
            put_run(madv, end, pos + len - end, was_clean); /* straddles: keep the rest */
        pos += len;
    }
    put_run(madv, idx, n, clean);
}

void sz_medium_forget_runs(sz_region_t r, uint32_t idx, uint32_t n)
{
    sz_medium_mark_run(r, idx, n, false);
    uint16_t *madv = sz_medium_madv_words(r);
    madv[idx] = 0;
    madv[idx + n - 1] = 0;
}

/* madvise the whole block [idx, +msize) but its list entry, and record it:
 * the entry's quantum dirty, the rest clean. */
static void advise_free_block(sz_rack_t *rack, sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_advise_free_block(rack, r, idx, msize);
    sz_medium_mark_run(r, idx, 1, false);
    if (msize > 1)
        sz_medium_mark_run(r, idx + 1, msize - 1, true);
}

void sz_medium_freed(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx, uint32_t msize,
                     uint32_t freed_idx, uint32_t freed_msize)
{
    uint16_t *madv = sz_medium_madv_words(r);
    uint32_t fend = freed_idx + freed_msize, end = idx + msize;
    uint32_t left_dirty = 0, right_dirty = 0;
    int votes = 0;
    if (idx < freed_idx) {
        uint16_t w = madv[freed_idx - 1];
        if (!(w & SZ_MADV_CLEAN))
            left_dirty = run_len(w);
        else if (run_len(w) > freed_msize)
            votes++;
    }
    if (fend < end) {
        uint16_t w = madv[fend];
        if (!(w & SZ_MADV_CLEAN))
            right_dirty = run_len(w);
        else if (run_len(w) > freed_msize)
            votes++;
    }
    /* A damaged word must not make a run reach outside the block. */
    if (left_dirty > freed_idx - idx || right_dirty > end - fend)
        left_dirty = right_dirty = 0;
    size_t dirty = (size_t)(freed_msize + left_dirty + right_dirty) << SZ_MEDIUM_QSHIFT;
    if (votes == 2 || dirty >= sz_medium_window(m))
        advise_free_block(rack, r, idx, msize);
    else
        sz_medium_mark_run(r, freed_idx - left_dirty, freed_msize + left_dirty + right_dirty, false);
}

void sz_medium_before_cache(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, void *p, uint32_t msize)
{
    size_t bytes = (size_t)msize << SZ_MEDIUM_QSHIFT;
    if (bytes <= sz_medium_window(m))
        return;
    /* In use (cached), so no list entry to keep: every page goes. */
    if (rack->zone->s.scribble)
        memset(p, 0xDD, bytes);
    mallet_os_decommit(p, bytes, MALLET_DECOMMIT_LAZY);
    sz_medium_mark_run(r, (uint32_t)sz_index_of(SZ_MEDIUM, r, p), msize, true);
}

const sz_tier_ops_t sz_medium_ops = {
    .inuse_msize = sz_meta_inuse_msize,
    .free_msize = sz_meta_free_msize,
    .prev_free = sz_meta_prev_free,
    .set_inuse = sz_medium_set_inuse,
    .set_free = sz_meta_set_free,
    .unmark = sz_medium_unmark,
    .mark_tail = sz_meta_mark_tail,
    .lf_max_msize = SZ_MEDIUM_NQUANTA + 1,
    .msg_double_free = "double free for ptr %p",
    .msg_misaligned = "Non-aligned pointer %p being freed (2)",
    .msg_metadata = "Pointer %p to metadata being freed (2)",
};
