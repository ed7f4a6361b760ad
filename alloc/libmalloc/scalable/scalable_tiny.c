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
 * scalable_magazine.c; this file is only the bookkeeping.
 */
#include "scalable_internal.h"

static inline uint32_t *tiny_pair(sz_region_t r, uint32_t idx)
{
    return ((sz_tiny_meta_t *)r)->pairs[idx >> 5];
}
static inline bool hdr(sz_region_t r, uint32_t idx)
{
    return (tiny_pair(r, idx)[0] >> (idx & 31)) & 1;
}
static inline bool inuse(sz_region_t r, uint32_t idx)
{
    return (tiny_pair(r, idx)[1] >> (idx & 31)) & 1;
}
static inline void set_bits(sz_region_t r, uint32_t idx, bool h, bool u)
{
    uint32_t *p = tiny_pair(r, idx), bit = 1u << (idx & 31);
    p[0] = h ? (p[0] | bit) : (p[0] & ~bit);
    p[1] = u ? (p[1] | bit) : (p[1] & ~bit);
}
static inline uint16_t *inline_msize(sz_region_t r, uint32_t idx)
{
    return (uint16_t *)((uint8_t *)sz_ptr_of(SZ_TINY, r, idx) + 16);
}

/* Next header bit strictly after idx, or SZ_TINY_NQUANTA. */
static uint32_t next_header(sz_region_t r, uint32_t idx)
{
    uint32_t i = idx + 1;
    if (i >= SZ_TINY_NQUANTA)
        return SZ_TINY_NQUANTA;
    uint32_t w = i >> 5;
    uint32_t bits = ((sz_tiny_meta_t *)r)->pairs[w][0] & (~0u << (i & 31));
    while (bits == 0) {
        if (++w >= SZ_TINY_BITMAP_WORDS)
            return SZ_TINY_NQUANTA;
        bits = ((sz_tiny_meta_t *)r)->pairs[w][0];
    }
    uint32_t n = (w << 5) + (uint32_t)__builtin_ctz(bits);
    return n < SZ_TINY_NQUANTA ? n : SZ_TINY_NQUANTA;
}

static uint32_t tiny_inuse_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start || !hdr(r, idx) || !inuse(r, idx))
        return 0;
    uint32_t n = next_header(r, idx);
    if (n > r->tail_start)
        n = r->tail_start;
    return n - idx;
}

static uint32_t tiny_free_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start || !hdr(r, idx) || inuse(r, idx))
        return 0;
    if (idx + 1 >= SZ_TINY_NQUANTA || hdr(r, idx + 1))
        return 1;
    uint32_t m = *inline_msize(r, idx);
    /* A damaged inline size must not walk us off the region. */
    if (m < 2 || idx + m > r->tail_start)
        return 0;
    return m;
}

/* The trailing-size read below is speculative: when the previous block is
 * in use those two bytes are the program's data, possibly being written by
 * another thread right now. The value is only trusted after the header
 * and in-use bitmaps confirm it (under the magazine lock), as libmalloc
 * does, so TSan is told not to instrument this one function. */
__attribute__((no_sanitize("thread")))
static bool tiny_prev_free(sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize)
{
    if (idx == 0)
        return false;
    if (hdr(r, idx - 1)) {
        if (inuse(r, idx - 1))
            return false;
        *start = idx - 1;
        *msize = 1;
        return true;
    }
    /* Read the trailing size of a would-be free neighbour and confirm it
     * against that block's header: user data can look like a size. */
    uint32_t m = ((uint16_t *)sz_ptr_of(SZ_TINY, r, idx))[-1];
    if (m < 2 || m > idx)
        return false;
    uint32_t s = idx - m;
    /* A free block of m >= 2 quanta has no header bit at s + 1; without
     * that check a free 1-quantum block at s whose +16 bytes (the next
     * block's data) happen to equal m would be taken as spanning
     * [s, idx), swallowing the blocks in between (libmalloc compares the
     * true free size, get_tiny_free_size()). */
    if (!hdr(r, s) || inuse(r, s) || hdr(r, s + 1) || *inline_msize(r, s) != m)
        return false;
    *start = s;
    *msize = m;
    return true;
}

static void tiny_set_inuse(sz_region_t r, uint32_t idx, uint32_t msize)
{
    set_bits(r, idx, true, true);
    if (idx + msize < SZ_TINY_NQUANTA) {
        uint32_t *p = tiny_pair(r, idx + msize);
        p[0] |= 1u << ((idx + msize) & 31);
    }
}

static void tiny_set_free(sz_region_t r, uint32_t idx, uint32_t msize)
{
    set_bits(r, idx, true, false);
    if (idx + msize < SZ_TINY_NQUANTA) {
        uint32_t *p = tiny_pair(r, idx + msize);
        p[0] |= 1u << ((idx + msize) & 31);
    }
    if (msize >= 2) {
        *inline_msize(r, idx) = (uint16_t)msize;
        ((uint16_t *)sz_ptr_of(SZ_TINY, r, idx + msize))[-1] = (uint16_t)msize;
    }
}

static void tiny_unmark(sz_region_t r, uint32_t idx, uint32_t msize)
{
    (void)msize;
    set_bits(r, idx, false, false);
}

static void tiny_mark_tail(sz_region_t r, uint32_t idx)
{
    if (idx < SZ_TINY_NQUANTA)
        set_bits(r, idx, true, false);
}

const sz_tier_ops_t sz_tiny_ops = {
    .inuse_msize = tiny_inuse_msize,
    .free_msize = tiny_free_msize,
    .prev_free = tiny_prev_free,
    .set_inuse = tiny_set_inuse,
    .set_free = tiny_set_free,
    .unmark = tiny_unmark,
    .mark_tail = tiny_mark_tail,
    /* libmalloc caches only blocks under 16 quanta (<= 240 B) in tiny. */
    .lf_max_msize = 16,
    .msg_double_free = "Double free of object %p",
    .msg_misaligned = "Non-aligned pointer %p being freed",
    .msg_metadata = "Pointer %p to metadata being freed",
};
