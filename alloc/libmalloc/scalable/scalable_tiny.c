/*
 * scalable_tiny.c — how a tiny region records its blocks
 * (ALLOCATOR_REFERENCE §C.3).
 *
 * Tiny blocks are 1..63 quanta of 16 B. A region keeps two bits per
 * quantum, stored as interleaved 32-bit {header, inuse} words so one cache
 * line answers both questions for 32 quanta:
 *
 *     header 1 = a block starts here (also set on the quantum right after
 *                every block, which is the next block or the free tail)
 *     inuse  1 = that block is allocated
 *     middles  = 0/0
 *
 * An allocated block's size is the distance to the next header bit. A free
 * block's size is 1 if the next quantum has a header bit, else it is kept
 * inline as a uint16 at +16 and in the block's last two bytes (the first
 * 16 bytes hold the checksummed list links). The trailing copy is what
 * lets a freed block find a free left neighbour in O(1).
 *
 * The allocation/free algorithm shared by all tiers is in
 * scalable_magazine.c; this file is the ops table; the bookkeeping itself is inline in
 * scalable_blocks.h.
 */
#include "scalable_blocks.h"

const sz_tier_ops_t sz_tiny_ops = {
    .inuse_msize = sz_tiny_inuse_msize,
    .free_msize = sz_tiny_free_msize,
    .prev_free = sz_tiny_prev_free,
    .set_inuse = sz_tiny_set_inuse,
    .set_free = sz_tiny_set_free,
    .unmark = sz_tiny_unmark,
    .mark_tail = sz_tiny_mark_tail,
    /* libmalloc caches only blocks under 16 quanta (<= 240 B) in tiny. */
    .lf_max_msize = 16,
    .msg_double_free = "Double free of object %p",
    .msg_misaligned = "Non-aligned pointer %p being freed",
    .msg_metadata = "Pointer %p to metadata being freed",
};
