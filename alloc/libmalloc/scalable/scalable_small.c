/*
 * scalable_small.c — how small (and medium) regions record their blocks
 * (ALLOCATOR_REFERENCE §C.4).
 *
 * One uint16 meta word per quantum (512 B):
 *
 *     block start        msize            (allocated)
 *     free block         msize | 0x8000   at its first AND last quantum
 *     everything else    0
 *
 * The mark on a free block's last quantum lets a block being freed find a
 * free left neighbour in O(1); the right neighbour is simply idx + msize.
 * Medium regions use exactly the same words (with 32 KiB quanta) plus
 * madvise words, so the functions here serve both tiers.
 *
 * Linux/mallet difference: libmalloc moves the list entry of a page-sized,
 * page-aligned free block out of band (into the region's pad) so the whole
 * block can be madvised. We keep every entry in place and madvise only the
 * pages after the entry (sz_advise_free_block), losing at most one page per
 * free block.
 */
#include "scalable_internal.h"

uint16_t *sz_meta_words(sz_region_t r)
{
    return r->tier == SZ_SMALL ? ((sz_small_meta_t *)r)->meta : ((sz_medium_meta_t *)r)->meta;
}

uint32_t sz_meta_inuse_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start)
        return 0;
    uint16_t v = sz_meta_words(r)[idx];
    if (v == 0 || (v & SZ_META_FREE))
        return 0;
    return v;
}

uint32_t sz_meta_free_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start)
        return 0;
    uint16_t *meta = sz_meta_words(r);
    uint16_t v = meta[idx];
    if (!(v & SZ_META_FREE))
        return 0;
    uint32_t m = v & SZ_META_MSIZE;
    if (m == 0 || idx + m > r->tail_start || meta[idx + m - 1] != v)
        return 0;
    return m;
}

bool sz_meta_prev_free(sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize)
{
    if (idx == 0)
        return false;
    uint16_t *meta = sz_meta_words(r);
    uint16_t v = meta[idx - 1];
    if (!(v & SZ_META_FREE))
        return false;
    uint32_t m = v & SZ_META_MSIZE;
    if (m == 0 || m > idx || meta[idx - m] != v)
        return false;
    *start = idx - m;
    *msize = m;
    return true;
}

void sz_meta_set_inuse(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_meta_words(r)[idx] = (uint16_t)msize;
}

void sz_meta_set_free(sz_region_t r, uint32_t idx, uint32_t msize)
{
    uint16_t *meta = sz_meta_words(r);
    meta[idx] = (uint16_t)(msize | SZ_META_FREE);
    meta[idx + msize - 1] = (uint16_t)(msize | SZ_META_FREE);
}

void sz_meta_unmark(sz_region_t r, uint32_t idx, uint32_t msize)
{
    uint16_t *meta = sz_meta_words(r);
    meta[idx] = 0;
    if (msize > 1)
        meta[idx + msize - 1] = 0;
}

void sz_meta_mark_tail(sz_region_t r, uint32_t idx)
{
    (void)r;
    (void)idx; /* the tail is all-zero meta words */
}

const sz_tier_ops_t sz_small_ops = {
    .inuse_msize = sz_meta_inuse_msize,
    .free_msize = sz_meta_free_msize,
    .prev_free = sz_meta_prev_free,
    .set_inuse = sz_meta_set_inuse,
    .set_free = sz_meta_set_free,
    .unmark = sz_meta_unmark,
    .mark_tail = sz_meta_mark_tail,
    /* small caches a freed block of any size */
    .lf_max_msize = SZ_SMALL_NQUANTA + 1,
    .msg_double_free = "double free for ptr %p",
    .msg_misaligned = "Non-aligned pointer %p being freed (2)",
    .msg_metadata = "Pointer %p to metadata being freed (2)",
};
