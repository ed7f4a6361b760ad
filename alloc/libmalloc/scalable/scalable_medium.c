/*
 * scalable_medium.c — the medium tier: 32 KiB quanta in 128 MiB regions,
 * blocks up to 8 MiB (ALLOCATOR_REFERENCE §C.1, §C.5).
 *
 * Bookkeeping is the small tier's meta words (scalable_small.c). What
 * medium adds is eager page return: a 32 KiB quantum is eight pages, so a
 * free run is worth giving back as soon as it is large compared with what
 * the magazine uses. The "madvise window" is
 *
 *     max(1.5 MiB, smallest power of two > bytes in use / 16)
 *        x 1, 2, 4, 8 for RAM >= 2, 4, 8 x 128 GiB
 *
 * and a coalesced free run at least that large is madvised and marked
 * clean in the madvise words (bit 15 = clean, run size at both ends). A
 * run that is allocated again is dirty. libmalloc also sums dirty runs
 * around the block and splits clean/dirty runs precisely; we track one
 * state per free block, which gives the same result whenever a free block
 * is either wholly reused or wholly idle (the common cases).
 *
 * Engagement: libmalloc turns medium on for 64-bit macOS with >= 32 GiB of
 * RAM. MallocMediumZone=1/0 (or the zone option medium=1/0) forces it.
 */
#include "scalable_blocks.h"

bool sz_medium_wanted(const sz_settings_t *s)
{
    if (s->medium == 0 || s->medium == 1)
        return s->medium == 1;
    return mallet_os_physical_memory() >= ((uint64_t)32 << 30);
}

static size_t medium_window(const sz_magazine_t *m)
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

void sz_medium_freed(sz_rack_t *rack, sz_magazine_t *m, sz_region_t r, uint32_t idx,
                         uint32_t msize)
{
    uint16_t *madv = sz_medium_madv_words(r);
    size_t bytes = (size_t)msize << SZ_MEDIUM_QSHIFT;
    if (bytes < medium_window(m))
        return;
    sz_advise_free_block(rack, r, idx, msize);
    madv[idx] = (uint16_t)(msize | SZ_MADV_CLEAN);
    madv[idx + msize - 1] = (uint16_t)(msize | SZ_MADV_CLEAN);
}

const sz_tier_ops_t sz_medium_ops = {
    .inuse_msize = sz_meta_inuse_msize,
    .free_msize = sz_meta_free_msize,
    .prev_free = sz_meta_prev_free,
    .set_inuse = sz_meta_set_inuse,
    .set_free = sz_meta_set_free,
    .unmark = sz_medium_unmark,
    .mark_tail = sz_meta_mark_tail,
    .freed_hook = sz_medium_freed,
    .reuse_hook = sz_medium_reuse,
    .lf_max_msize = SZ_MEDIUM_NQUANTA + 1,
    .msg_double_free = "double free for ptr %p",
    .msg_misaligned = "Non-aligned pointer %p being freed (2)",
    .msg_metadata = "Pointer %p to metadata being freed (2)",
};
