/*
 * ptmalloc_chunk.h — glibc 2.36 malloc chunk layout, size arithmetic,
 * safe-linking and bin indexing (ALLOCATOR_REFERENCE.md §D.1, §D.2, §D.5).
 *
 * A chunk as glibc lays it out on x86_64 (SIZE_SZ 8, alignment 16):
 *
 *     chunk -> +-------------------------------+
 *              | prev_size (only if prev free) |  also: offset in mapping if mmapped
 *              +-------------------------------+
 *              | size            | A | M | P   |  A=NON_MAIN_ARENA 4, M=IS_MMAPPED 2,
 *      mem  -> +-------------------------------+     P=PREV_INUSE 1
 *              | fd        (free chunks only)  |  user data starts here when in use
 *              | bk                            |
 *              | fd_nextsize (large free only) |
 *              | bk_nextsize                   |
 *              .                               .
 *     next  -> | prev_size = size (footer)     |  used as user data while in use
 *              +-------------------------------+
 *
 * In-use chunks borrow the next chunk's prev_size word, so usable size is
 * size - 8 (mmapped chunks: size - 16). Everything here is pure arithmetic;
 * no state.
 */
#ifndef MALLET_PTMALLOC_CHUNK_H
#define MALLET_PTMALLOC_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#define PT_SIZE_SZ ((size_t)sizeof(size_t))
#define PT_ALIGNMENT ((size_t)16)
#define PT_ALIGN_MASK (PT_ALIGNMENT - 1)
#define PT_MINSIZE ((size_t)32)
#define PT_HDR ((size_t)16) /* chunk -> mem offset */

#define PT_PREV_INUSE ((size_t)0x1)
#define PT_IS_MMAPPED ((size_t)0x2)
#define PT_NON_MAIN_ARENA ((size_t)0x4)
#define PT_SIZE_BITS (PT_PREV_INUSE | PT_IS_MMAPPED | PT_NON_MAIN_ARENA)

typedef struct pt_chunk {
    size_t prev_size;
    size_t size;
    struct pt_chunk *fd;
    struct pt_chunk *bk;
    struct pt_chunk *fd_nextsize; /* large free chunks only */
    struct pt_chunk *bk_nextsize;
} pt_chunk_t;

typedef pt_chunk_t *mchunkptr;

/* ---- conversions ------------------------------------------------------- */
static inline void *pt_chunk2mem(const pt_chunk_t *p) { return (char *)p + PT_HDR; }
static inline pt_chunk_t *pt_mem2chunk(const void *m) { return (pt_chunk_t *)((char *)m - PT_HDR); }
static inline int pt_aligned_ok(uintptr_t a) { return (a & PT_ALIGN_MASK) == 0; }
static inline int pt_misaligned_chunk(const pt_chunk_t *p) { return !pt_aligned_ok((uintptr_t)pt_chunk2mem(p)); }

/* ---- size field --------------------------------------------------------
 * A block's owner reads its own size word in free() without the arena
 * lock while another thread, holding the lock, may flip PREV_INUSE in it
 * (freeing or allocating the chunk before). glibc tolerates that race
 * with plain accesses, and so do mallet's normal builds: a relaxed atomic
 * is the same mov on x86-64, but the compiler may not merge two of them,
 * and _int_malloc reads the same size words several times (1% of all
 * instructions on glibc-thread, results/2026-12-02_ptmalloc_perf5). The
 * owner's lock-free reads use only the size bits, which nobody else
 * changes, so a merged read sees what a separate one would. ThreadSanitizer
 * builds make every access a relaxed atomic so that they report the races
 * that matter and not this one. */
#if defined(__SANITIZE_THREAD__)
#define PT_SIZE_WORD_ATOMIC 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PT_SIZE_WORD_ATOMIC 1
#endif
#endif
#ifdef PT_SIZE_WORD_ATOMIC
static inline size_t pt_size_word(const pt_chunk_t *p) { return __atomic_load_n(&p->size, __ATOMIC_RELAXED); }
static inline void pt_size_store(pt_chunk_t *p, size_t v) { __atomic_store_n(&p->size, v, __ATOMIC_RELAXED); }
#else
static inline size_t pt_size_word(const pt_chunk_t *p) { return p->size; }
static inline void pt_size_store(pt_chunk_t *p, size_t v) { p->size = v; }
#endif
static inline size_t pt_chunksize(const pt_chunk_t *p) { return pt_size_word(p) & ~PT_SIZE_BITS; }
static inline size_t pt_chunksize_nomask(const pt_chunk_t *p) { return pt_size_word(p); }
static inline int pt_prev_inuse(const pt_chunk_t *p) { return (pt_size_word(p) & PT_PREV_INUSE) != 0; }
static inline int pt_chunk_is_mmapped(const pt_chunk_t *p) { return (pt_size_word(p) & PT_IS_MMAPPED) != 0; }
static inline int pt_chunk_main_arena(const pt_chunk_t *p) { return (pt_size_word(p) & PT_NON_MAIN_ARENA) == 0; }
static inline void pt_size_or(pt_chunk_t *p, size_t bits) { pt_size_store(p, pt_size_word(p) | bits); }
static inline pt_chunk_t *pt_chunk_at(const void *p, size_t off) { return (pt_chunk_t *)((char *)p + off); }
static inline pt_chunk_t *pt_chunk_minus(const void *p, size_t off) { return (pt_chunk_t *)((char *)p - off); }
static inline pt_chunk_t *pt_next_chunk(const pt_chunk_t *p) { return pt_chunk_at(p, pt_chunksize(p)); }
static inline pt_chunk_t *pt_prev_chunk(const pt_chunk_t *p) { return pt_chunk_minus(p, p->prev_size); }

/* inuse bit of p lives in the next chunk's size */
static inline int pt_inuse(const pt_chunk_t *p) { return pt_prev_inuse(pt_next_chunk(p)); }
static inline int pt_inuse_at(const pt_chunk_t *p, size_t s) { return pt_prev_inuse(pt_chunk_at(p, s)); }
static inline void pt_set_inuse_at(pt_chunk_t *p, size_t s) { pt_size_or(pt_chunk_at(p, s), PT_PREV_INUSE); }
static inline void pt_clear_inuse_at(pt_chunk_t *p, size_t s)
{
    pt_chunk_t *n = pt_chunk_at(p, s);
    pt_size_store(n, pt_size_word(n) & ~PT_PREV_INUSE);
}
static inline void pt_set_head_size(pt_chunk_t *p, size_t s) { pt_size_store(p, (pt_size_word(p) & PT_SIZE_BITS) | s); }
static inline void pt_set_head(pt_chunk_t *p, size_t s) { pt_size_store(p, s); }
static inline void pt_set_foot(pt_chunk_t *p, size_t s) { pt_chunk_at(p, s)->prev_size = s; }

/* ---- request sizes ------------------------------------------------------ */
/* Largest request accepted: glibc rejects anything above PTRDIFF_MAX. */
#define PT_MAX_REQUEST ((size_t)PTRDIFF_MAX)

/* nb = (req + 8 + 15) & ~15, at least MINSIZE. Caller checks
 * req <= PT_MAX_REQUEST first (pt_checked_request2size). */
static inline size_t pt_request2size(size_t req)
{
    if (req + PT_SIZE_SZ + PT_ALIGN_MASK < PT_MINSIZE)
        return PT_MINSIZE;
    return (req + PT_SIZE_SZ + PT_ALIGN_MASK) & ~PT_ALIGN_MASK;
}
/* 0 on overflow (caller sets ENOMEM), as glibc's checked_request2size. */
static inline size_t pt_checked_request2size(size_t req)
{
    if (req > PT_MAX_REQUEST - 64)
        return 0;
    return pt_request2size(req);
}

/* ---- safe-linking (glibc 2.32+): stored = (address of field >> 12) ^ ptr */
#define PT_PROTECT_PTR(pos, ptr) \
    ((__typeof__(ptr))((((uintptr_t)(pos)) >> 12) ^ ((uintptr_t)(ptr))))
#define PT_REVEAL_PTR(ptr) PT_PROTECT_PTR(&(ptr), (ptr))

/* ---- bins -------------------------------------------------------------- */
#define PT_NBINS 128
#define PT_NSMALLBINS 64
#define PT_SMALLBIN_WIDTH PT_ALIGNMENT
#define PT_MIN_LARGE_SIZE ((size_t)(PT_NSMALLBINS * PT_SMALLBIN_WIDTH)) /* 1024 */
#define PT_NFASTBINS 10
#define PT_MAX_FAST_SIZE ((size_t)160)
#define PT_DEFAULT_MXFAST ((size_t)128)
#define PT_BINMAPSHIFT 5
#define PT_BITSPERMAP (1u << PT_BINMAPSHIFT)
#define PT_BINMAPSIZE (PT_NBINS / PT_BITSPERMAP)
#define PT_FASTBIN_CONSOLIDATION_THRESHOLD ((size_t)65536)

static inline int pt_in_smallbin_range(size_t sz) { return sz < PT_MIN_LARGE_SIZE; }
static inline unsigned pt_smallbin_index(size_t sz) { return (unsigned)(sz >> 4); }
static inline unsigned pt_largebin_index(size_t sz)
{
    if ((sz >> 6) <= 48) return 48 + (unsigned)(sz >> 6);
    if ((sz >> 9) <= 20) return 91 + (unsigned)(sz >> 9);
    if ((sz >> 12) <= 10) return 110 + (unsigned)(sz >> 12);
    if ((sz >> 15) <= 4) return 119 + (unsigned)(sz >> 15);
    if ((sz >> 18) <= 2) return 124 + (unsigned)(sz >> 18);
    return 126;
}
static inline unsigned pt_bin_index(size_t sz)
{
    return pt_in_smallbin_range(sz) ? pt_smallbin_index(sz) : pt_largebin_index(sz);
}
/* Fastbin index: (sz >> 4) - 2, so 32 -> 0 ... 176 -> 9. */
static inline unsigned pt_fastbin_index(size_t sz) { return (unsigned)(sz >> 4) - 2; }

static inline unsigned pt_idx2block(unsigned i) { return i >> PT_BINMAPSHIFT; }
static inline unsigned pt_idx2bit(unsigned i) { return 1u << (i & (PT_BITSPERMAP - 1)); }

/* ---- tcache ------------------------------------------------------------- */
#define PT_TCACHE_MAX_BINS 64
#define PT_TCACHE_FILL_COUNT 7
#define PT_TCACHE_MAX_COUNT 65535 /* uint16_t counts */
#define PT_MAX_TCACHE_SIZE ((size_t)1032) /* largest request served: chunk 1040 */
static inline size_t pt_csize2tidx(size_t sz) { return (sz - PT_MINSIZE + PT_ALIGN_MASK) / PT_ALIGNMENT; }
static inline size_t pt_usize2tidx(size_t req) { return pt_csize2tidx(pt_request2size(req)); }

/* Page and 64 MiB heap constants. */
#define PT_HEAP_MIN_SIZE ((size_t)32 * 1024)
#define PT_HEAP_MAX_SIZE ((size_t)64 * 1024 * 1024)
#define PT_DEFAULT_MMAP_THRESHOLD ((size_t)128 * 1024)
#define PT_DEFAULT_MMAP_THRESHOLD_MAX ((size_t)32 * 1024 * 1024)
#define PT_DEFAULT_TRIM_THRESHOLD ((size_t)128 * 1024)
#define PT_DEFAULT_TOP_PAD ((size_t)128 * 1024)
#define PT_DEFAULT_MMAP_MAX 65536
#define PT_MAX_ITERS 10000

#endif /* MALLET_PTMALLOC_CHUNK_H */
