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
 * The list entry of a small free block that starts on a page and spans a
 * page is kept out of band, in the region's pad, when a slot is free, so
 * all its pages can be madvised (scalable_small_list.c, as libmalloc).
 * Medium, whose every block qualifies, keeps its entries in place here
 * (a difference from libmalloc, which shares small's entries): its
 * madvise keeps the block's first page.
 */
#include "scalable_blocks.h"

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
