/*
 * scalable_blocks.h — the per-tier block bookkeeping as inline functions
 * (ALLOCATOR_REFERENCE §C.3, §C.4): tiny {header, inuse} bitmaps with
 * inline free sizes, and the small/medium meta words. The design notes are
 * in scalable_tiny.c and scalable_small.c, which also build the tiers' ops
 * tables from these functions. scalable_magazine.c calls them directly
 * (for a compile-time tier) so the fast paths need no indirect calls.
 */
#ifndef MALLET_SCALABLE_BLOCKS_H
#define MALLET_SCALABLE_BLOCKS_H

#include "scalable_internal.h"

/* ---- tiny ---------------------------------------------------------------- */

/* A load whose value is validated afterwards under the lock and may race
 * with the program writing its own block. An asm load on x86-64 so TSan
 * does not instrument it (the race is by design, as in libmalloc). */
static inline uint16_t sz_speculative_load16(const uint16_t *p)
{
#if defined(__x86_64__)
    uint16_t v;
    __asm__ volatile("movw %1, %0" : "=r"(v) : "m"(*p));
    return v;
#else
    return __atomic_load_n(p, __ATOMIC_RELAXED);
#endif
}

static inline uint32_t *sz_tiny_pair(sz_region_t r, uint32_t idx)
{
    return ((sz_tiny_meta_t *)r)->pairs[idx >> 5];
}
static inline bool sz_tiny_hdr(sz_region_t r, uint32_t idx)
{
    return (sz_tiny_pair(r, idx)[0] >> (idx & 31)) & 1;
}
static inline bool sz_tiny_inuse(sz_region_t r, uint32_t idx)
{
    return (sz_tiny_pair(r, idx)[1] >> (idx & 31)) & 1;
}
static inline void sz_tiny_set_bits(sz_region_t r, uint32_t idx, bool h, bool u)
{
    uint32_t *p = sz_tiny_pair(r, idx), bit = 1u << (idx & 31);
    p[0] = h ? (p[0] | bit) : (p[0] & ~bit);
    p[1] = u ? (p[1] | bit) : (p[1] & ~bit);
}
static inline uint16_t *sz_tiny_inline_msize(sz_region_t r, uint32_t idx)
{
    return (uint16_t *)((uint8_t *)sz_ptr_of(SZ_TINY, r, idx) + 16);
}

/* Next header bit strictly after idx, or SZ_TINY_NQUANTA. */
static inline uint32_t sz_tiny_next_header(sz_region_t r, uint32_t idx)
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

static inline uint32_t sz_tiny_inuse_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start || !sz_tiny_hdr(r, idx) || !sz_tiny_inuse(r, idx))
        return 0;
    uint32_t n = sz_tiny_next_header(r, idx);
    if (n > r->tail_start)
        n = r->tail_start;
    return n - idx;
}

static inline uint32_t sz_tiny_free_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start || !sz_tiny_hdr(r, idx) || sz_tiny_inuse(r, idx))
        return 0;
    if (idx + 1 >= SZ_TINY_NQUANTA || sz_tiny_hdr(r, idx + 1))
        return 1;
    uint32_t m = *sz_tiny_inline_msize(r, idx);
    /* A damaged inline size must not walk us off the region. */
    if (m < 2 || idx + m > r->tail_start)
        return 0;
    /* Nor across live blocks: the size is in the freed block's bytes, where
     * a use-after-free write reaches it (the misuse fuzzer wrote 97 over a
     * 40, and the next coalescing merged and overwrote the live block that
     * followed). libmalloc trusts it; mallet also wants the block's trailing
     * copy to agree and a block to start right after it, and otherwise
     * treats it as not free, so it stays put and the list check that takes
     * it reports it ("size too small"). */
    if (((const uint16_t *)sz_ptr_of(SZ_TINY, r, idx + m))[-1] != m ||
        (idx + m < SZ_TINY_NQUANTA && !sz_tiny_hdr(r, idx + m)))
        return 0;
    return m;
}

/* The trailing-size read below is speculative: when the previous block is
 * in use those two bytes are the program's data, possibly being written by
 * another thread right now. The value is only trusted after the header
 * and in-use bitmaps confirm it (under the magazine lock), as libmalloc
 * does, so TSan is told not to instrument this one function. */
__attribute__((no_sanitize("thread")))
static inline bool sz_tiny_prev_free(sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize)
{
    if (idx == 0)
        return false;
    if (sz_tiny_hdr(r, idx - 1)) {
        if (sz_tiny_inuse(r, idx - 1))
            return false;
        *start = idx - 1;
        *msize = 1;
        return true;
    }
    /* Read the trailing size of a would-be free neighbour and confirm it
     * against that block's header: user data can look like a size. The
     * read is speculative — when the neighbour is in use these are the
     * program's bytes, perhaps being written by another thread — so it is
     * done where TSan does not look (sz_speculative_load16). */
    uint32_t m = sz_speculative_load16((uint16_t *)sz_ptr_of(SZ_TINY, r, idx) - 1);
    if (m < 2 || m > idx)
        return false;
    uint32_t s = idx - m;
    /* A free block of m >= 2 quanta has no header bit at s + 1; without
     * that check a free 1-quantum block at s whose +16 bytes (the next
     * block's data) happen to equal m would be taken as spanning
     * [s, idx), swallowing the blocks in between (libmalloc compares the
     * true free size, get_tiny_free_size()). */
    if (!sz_tiny_hdr(r, s) || sz_tiny_inuse(r, s) || sz_tiny_hdr(r, s + 1) || *sz_tiny_inline_msize(r, s) != m)
        return false;
    *start = s;
    *msize = m;
    return true;
}

static inline void sz_tiny_set_inuse(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_tiny_set_bits(r, idx, true, true);
    if (idx + msize < SZ_TINY_NQUANTA) {
        uint32_t *p = sz_tiny_pair(r, idx + msize);
        p[0] |= 1u << ((idx + msize) & 31);
    }
}

static inline void sz_tiny_set_free(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_tiny_set_bits(r, idx, true, false);
    if (idx + msize < SZ_TINY_NQUANTA) {
        uint32_t *p = sz_tiny_pair(r, idx + msize);
        p[0] |= 1u << ((idx + msize) & 31);
    }
    if (msize >= 2) {
        *sz_tiny_inline_msize(r, idx) = (uint16_t)msize;
        ((uint16_t *)sz_ptr_of(SZ_TINY, r, idx + msize))[-1] = (uint16_t)msize;
    }
}

static inline void sz_tiny_unmark(sz_region_t r, uint32_t idx, uint32_t msize)
{
    (void)msize;
    sz_tiny_set_bits(r, idx, false, false);
}

static inline void sz_tiny_mark_tail(sz_region_t r, uint32_t idx)
{
    if (idx < SZ_TINY_NQUANTA)
        sz_tiny_set_bits(r, idx, true, false);
}

/* ---- small and medium meta words ------------------------------------------ */

/* Small and medium keep their meta words at the same offset. */
_Static_assert(__builtin_offsetof(sz_small_meta_t, meta) == __builtin_offsetof(sz_medium_meta_t, meta),
               "meta words at one offset");
static inline uint16_t *sz_meta_words(sz_region_t r)
{
    return ((sz_small_meta_t *)r)->meta;
}

static inline uint32_t sz_meta_inuse_msize(sz_region_t r, uint32_t idx)
{
    if (idx >= r->tail_start)
        return 0;
    uint16_t v = sz_meta_words(r)[idx];
    if (v == 0 || (v & SZ_META_FREE))
        return 0;
    return v;
}

static inline uint32_t sz_meta_free_msize(sz_region_t r, uint32_t idx)
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

static inline bool sz_meta_prev_free(sz_region_t r, uint32_t idx, uint32_t *start, uint32_t *msize)
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

static inline void sz_meta_set_inuse(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_meta_words(r)[idx] = (uint16_t)msize;
}

static inline void sz_meta_set_free(sz_region_t r, uint32_t idx, uint32_t msize)
{
    uint16_t *meta = sz_meta_words(r);
    meta[idx] = (uint16_t)(msize | SZ_META_FREE);
    meta[idx + msize - 1] = (uint16_t)(msize | SZ_META_FREE);
}

static inline void sz_meta_unmark(sz_region_t r, uint32_t idx, uint32_t msize)
{
    uint16_t *meta = sz_meta_words(r);
    meta[idx] = 0;
    if (msize > 1)
        meta[idx + msize - 1] = 0;
}

static inline void sz_meta_mark_tail(sz_region_t r, uint32_t idx)
{
    (void)r;
    (void)idx; /* the tail is all-zero meta words */
}

/* ---- medium: meta words plus madvise words (scalable_medium.c) ----------- */

static inline uint16_t *sz_medium_madv_words(sz_region_t r)
{
    return ((sz_medium_meta_t *)r)->madv;
}

/* Make [idx, idx+n) one run (clean or dirty) of the madvise words. idx
 * must start a run or lie in the untouched tail (all words 0). Runs
 * inside are forgotten; a run that starts inside and ends past idx+n
 * keeps its state for the part past idx+n. Out of line: scalable_medium.c. */
void sz_medium_mark_run(sz_region_t r, uint32_t idx, uint32_t n, bool clean);

/* An allocated medium block is one dirty run. Every caller passes a run
 * start (a free block's start, an allocated block's start, or the tail). */
static inline void sz_medium_set_inuse(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_meta_set_inuse(r, idx, msize);
    sz_medium_mark_run(r, idx, msize, false);
}

/* Merging free blocks keeps their runs: only the meta words change. */
static inline void sz_medium_unmark(sz_region_t r, uint32_t idx, uint32_t msize)
{
    sz_meta_unmark(r, idx, msize);
}

#endif /* MALLET_SCALABLE_BLOCKS_H */
