/*
 * test_ptmalloc_errors.c — every reachable glibc malloc_printerr message
 * (ALLOCATOR_REFERENCE.md §D.15), triggered on a fresh instance with a
 * recording handler: exact text, GLIBC style, one report, and the zone
 * still destroyable afterwards.
 *
 * This program stays single-threaded (glibc's fastbin pop differs once a
 * process has threads; the threaded variant is in test_ptmalloc_threads.c).
 */
#include "pt_test_util.h"

#define NOTC "ptmalloc.tcache_count=0"

typedef void (*scenario_fn)(mallet_zone_t *z);

static void expect(const char *name, const char *opts, scenario_fn fn, const char *message)
{
    TEST_CASE(name)
    {
        mallet_zone_t *z = fresh(opts);
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        fn(z);
        mallet_error_set_handler(old, NULL);
        CHECK_MSG(rec.count == 1, "%u reports (first: '%s')", rec.count, rec.message);
        CHECK_MSG(strcmp(rec.message, message) == 0, "got '%s', want '%s'", rec.message, message);
        CHECK_EQ(rec.style, MALLET_STYLE_GLIBC);
        /* poisoned: nothing more is handed out, frees are ignored */
        errno = 0;
        CHECK(mallet_malloc(z, 10) == NULL);
        mallet_zone_destroy(z);
    }
}

static void s_tcache_double_free(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, p);
}
static void s_fasttop(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, p);
}
static void s_top(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000);
    mallet_free(z, p); /* merges into top */
    mallet_free(z, p);
}
static void s_notprev(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, p);
    (void)g;
}
static void s_out(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000);
    (void)mallet_malloc(z, 24);
    SIZE_FIELD(p) = (1 << 20) | 1;
    mallet_free(z, p);
}
static void s_invalid_pointer(mallet_zone_t *z)
{
    char *p = mallet_malloc(z, 100);
    mallet_free(z, p + 8);
}
static void s_foreign_pointer(mallet_zone_t *z)
{
    static long not_ours[8];
    mallet_free(z, &not_ours[4]);
}
static void s_invalid_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24);
    SIZE_FIELD(p) = 0x11;
    mallet_free(z, p);
}
static void s_next_size_fast(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    SIZE_FIELD(g) = 0;
    mallet_free(z, p);
}
static void s_next_size_normal(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
    SIZE_FIELD(g) = 1;
    mallet_free(z, p);
}
/* A fastbin head whose size names another bin, then a free onto that bin.
 * glibc 2.36 reads the old head's size only when the freeing path already
 * holds the arena lock (realloc, memalign, sysmalloc): a plain free pushes
 * without the lock, and the head it saw may be in use again by then. */
static void s_fastbin_entry_plain_free(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    SIZE_FIELD(a) = 0x41;
    mallet_free(z, b);
    (void)g;
}
/* The same through realloc: shrinking a 64-byte chunk to 32 frees its
 * 32-byte tail with the lock held, onto the bin with the bad head. */
static void s_fastbin_entry(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24), *r = mallet_malloc(z, 56), *g2 = mallet_malloc(z, 24);
    mallet_free(z, a);
    SIZE_FIELD(a) = 0x41;
    CHECK(mallet_realloc(z, r, 24) == r);
    (void)g;
    (void)g2;
}
static void s_memory_corruption_fast(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    SIZE_FIELD(a) = 0x41;
    (void)mallet_malloc(z, 24);
    (void)g;
}
static void s_fastbin_unaligned_2(mallet_zone_t *z)
{
    /* single-threaded glibc pops without checking the next link: the bad
     * link becomes the head and is caught on the following malloc */
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    mallet_free(z, b);
    HDR(b)[0] = (size_t)PT_PROTECT_PTR(&HDR(b)[0], (void *)((char *)a + 8));
    (void)mallet_malloc(z, 24);
    (void)mallet_malloc(z, 24);
    (void)g;
}
static void s_fastbin_unaligned_3(mallet_zone_t *z)
{
    /* with a tcache: the same bad link is caught while stashing */
    void *a[9], *g = NULL;
    for (int i = 0; i < 9; i++)
        a[i] = mallet_malloc(z, 24);
    g = mallet_malloc(z, 24);
    for (int i = 0; i < 9; i++)
        mallet_free(z, a[i]); /* a0..a6 tcache, a7 a8 fastbin */
    for (int i = 0; i < 7; i++)
        (void)mallet_malloc(z, 24);
    HDR(a[8])[0] = (size_t)PT_PROTECT_PTR(&HDR(a[8])[0], (void *)((char *)a[7] + 8));
    (void)mallet_malloc(z, 24);
    (void)g;
}
static void s_tcache_unaligned(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24), *q = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, q);
    HDR(q)[0] = (size_t)PT_PROTECT_PTR(&HDR(q)[0], (void *)((char *)p + 8));
    (void)mallet_malloc(z, 24);
    (void)mallet_malloc(z, 24);
}
/* The misuse matrix's uaf-write-word0 on the main arena: an aligned
 * pointer written raw over a tcache link is revealed as planted ^
 * (link address >> 12), which tcache_get finds misaligned unless bits
 * 12..15 of the link's address are zero. glibc's sbrk heap starts at a
 * random page, so that happens 1 time in 16; our emulated brk must start
 * at a random page too (a range starting on a 2 MiB boundary made it
 * happen every time, and the planted pointer was followed). */
static void test_uaf_planted_aligned_pointer(void)
{
    static _Alignas(64) unsigned char target[256];
    TEST_CASE("tcache: aligned pointer planted by a use-after-free write (main arena, random brk start)")
    {
        enum { ZONES = 32 };
        unsigned tried = 0, caught = 0;
        for (int i = 0; i < ZONES; i++) {
            mallet_zone_t *z = fresh(NULL);
            void *q = mallet_malloc(z, 64), *p = mallet_malloc(z, 64);
            mallet_free(z, q);
            mallet_free(z, p);
            void *planted = target + 64;
            memcpy(p, &planted, sizeof planted);
            if ((((uintptr_t)p >> 12) & PT_ALIGN_MASK) != 0) {
                /* glibc aborts here; with the nibble zero it would follow the wild link */
                tried++;
                rec_reset();
                mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
                void *first = mallet_malloc(z, 64), *second = mallet_malloc(z, 64);
                mallet_error_set_handler(old, NULL);
                CHECK(first == p);
                CHECK(second == NULL);
                CHECK_MSG(rec.count == 1 && strcmp(rec.message, "malloc(): unaligned tcache chunk detected") == 0,
                          "%u reports, first '%s'", rec.count, rec.message);
                caught += rec.count == 1;
            }
            mallet_zone_destroy(z);
        }
        /* 30 of 32 expected; fewer than 20 is (1/16)-biased bad luck only with p < 1e-9 */
        CHECK_MSG(tried >= 20, "only %u of %d zones had a non-zero page nibble: brk start not random?", tried, ZONES);
        CHECK_EQ(caught, tried);
    }
}

static void s_tcache_too_many(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *c = mallet_malloc(z, 24);
    mallet_free(z, a);
    mallet_free(z, b);
    mallet_free(z, c); /* c -> b -> a */
    HDR(b)[0] = (size_t)PT_PROTECT_PTR(&HDR(b)[0], c); /* cycle c <-> b */
    mallet_free(z, a);
}
static void s_tcache_unaligned_2(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24);
    mallet_free(z, a);
    mallet_free(z, b);
    HDR(b)[0] = (size_t)PT_PROTECT_PTR(&HDR(b)[0], (void *)((char *)a + 8));
    mallet_free(z, a);
}
static void s_unlink_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *q = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
    mallet_free(z, q);
    PREV_SIZE_FIELD(g) = 0x1230; /* q's footer */
    mallet_free(z, p);           /* forward merge unlinks q */
}
static void s_consolidating(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *q = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
    mallet_free(z, p);
    SIZE_FIELD(p) += 16;
    mallet_free(z, q);
    (void)g;
}
static void s_double_linked(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g1 = mallet_malloc(z, 2000), *q = mallet_malloc(z, 2000);
    (void)mallet_malloc(z, 24);
    mallet_free(z, p);
    HDR(p)[0] = (size_t)pt_mem2chunk(q); /* fd: q->bk is user data, not p */
    mallet_free(z, g1);                  /* backward merge unlinks p */
}
static void s_not_small(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g1 = mallet_malloc(z, 2000), *q = mallet_malloc(z, 2000);
    (void)mallet_malloc(z, 24);
    mallet_free(z, p);
    (void)mallet_malloc(z, 5000);        /* sorts p into its large bin */
    HDR(p)[2] = (size_t)pt_mem2chunk(q); /* fd_nextsize */
    mallet_free(z, g1);
}
static void s_smallbin(mallet_zone_t *z)
{
    void *b[7], *a, *g[8];
    for (int i = 0; i < 7; i++) {
        b[i] = mallet_malloc(z, 200);
        g[i] = mallet_malloc(z, 24);
    }
    a = mallet_malloc(z, 200);
    g[7] = mallet_malloc(z, 24);
    for (int i = 0; i < 7; i++)
        mallet_free(z, b[i]);
    mallet_free(z, a);
    (void)mallet_malloc(z, 300); /* a -> small bin */
    for (int i = 0; i < 7; i++)
        (void)mallet_malloc(z, 200);
    HDR(a)[1] = (size_t)pt_mem2chunk(g[0]); /* bk */
    (void)mallet_malloc(z, 200);
}
static void *unsorted_setup(mallet_zone_t *z, void **guard)
{
    void *p = mallet_malloc(z, 2000);
    *guard = mallet_malloc(z, 24);
    (void)mallet_malloc(z, 24);
    mallet_free(z, p);
    return p;
}
static void s_unsorted_size(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    SIZE_FIELD(p) = 1;
    (void)mallet_malloc(z, 100);
}
static void s_unsorted_next_size(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    SIZE_FIELD(g) = 0;
    (void)mallet_malloc(z, 100);
    (void)p;
}
static void s_unsorted_prev_size(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    PREV_SIZE_FIELD(g) = 4000;
    (void)mallet_malloc(z, 100);
    (void)p;
}
static void s_unsorted_list(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    HDR(p)[0] = (size_t)pt_mem2chunk(g); /* fd */
    (void)mallet_malloc(z, 100);
}
static void s_unsorted_prev_inuse(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    SIZE_FIELD(g) |= 1;
    (void)mallet_malloc(z, 100);
    (void)p;
}
static void *large_setup(mallet_zone_t *z, void **other, void **x)
{
    void *A = mallet_malloc(z, 1984); /* chunk 2000 */
    (void)mallet_malloc(z, 24);
    void *B = mallet_malloc(z, 2016); /* chunk 2032, same bin */
    *x = mallet_malloc(z, 100);
    mallet_free(z, A);
    (void)mallet_malloc(z, 5000); /* A -> large bin */
    *other = B;
    return A;
}
static void s_largebin_nextsize(mallet_zone_t *z)
{
    void *B, *X, *A = large_setup(z, &B, &X);
    HDR(A)[3] = (size_t)pt_mem2chunk(X); /* bk_nextsize */
    mallet_free(z, B);
    (void)mallet_malloc(z, 5000);
}
static void s_largebin_bk(mallet_zone_t *z)
{
    void *B, *X, *A = large_setup(z, &B, &X);
    HDR(A)[1] = (size_t)pt_mem2chunk(X); /* bk */
    mallet_free(z, B);
    (void)mallet_malloc(z, 5000);
}
static void s_corrupted_unsorted_free(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24), *q = mallet_malloc(z, 2000);
    (void)mallet_malloc(z, 24);
    mallet_free(z, p);
    HDR(p)[1] = (size_t)pt_mem2chunk(g); /* bk of the unsorted head chunk */
    mallet_free(z, q);
}
static void s_corrupted_unsorted_split(mallet_zone_t *z)
{
    /* best-fit split in a large bin; the unsorted list head is damaged */
    void *A = mallet_malloc(z, 2016), *g = mallet_malloc(z, 24); /* chunk 2032, bin 79 */
    (void)mallet_malloc(z, 24);
    mallet_free(z, A);
    (void)mallet_malloc(z, 5000);
    pt_inst_t *inst = PT_INST(z);
    pt_unsorted_chunks(&inst->main_arena)->fd = pt_mem2chunk(g);
    (void)mallet_malloc(z, 1970); /* nb 1984, bin 79: remainder 48 */
}
static void s_corrupted_unsorted_split2(mallet_zone_t *z)
{
    /* the same through the binmap search */
    void *A = mallet_malloc(z, 1984), *g = mallet_malloc(z, 24);
    (void)mallet_malloc(z, 24);
    mallet_free(z, A);
    (void)mallet_malloc(z, 5000);
    pt_inst_t *inst = PT_INST(z);
    pt_unsorted_chunks(&inst->main_arena)->fd = pt_mem2chunk(g);
    (void)mallet_malloc(z, 500);
}
static void s_top_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 24);
    HDR(p)[3] = 0x7ffffff1; /* top's size word */
    (void)mallet_malloc(z, 100);
}
static void s_consolidate_size(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    SIZE_FIELD(a) = 0x41;
    (void)mallet_malloc(z, 2000);
    (void)g;
}
static void s_consolidate_unaligned(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    mallet_free(z, b);
    HDR(b)[0] = (size_t)PT_PROTECT_PTR(&HDR(b)[0], (void *)((char *)a + 8));
    (void)mallet_malloc(z, 2000);
    (void)g;
}
static void s_consolidate_prev_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, a);
    SIZE_FIELD(p) += 16;
    (void)mallet_malloc(z, 3000);
    (void)g;
}
static void s_munmap(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 200000);
    PREV_SIZE_FIELD(p) = 8;
    mallet_free(z, p);
}
static void s_mremap(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 200000);
    PREV_SIZE_FIELD(p) = 8;
    (void)mallet_realloc(z, p, 300000);
}
static void s_realloc_pointer(mallet_zone_t *z)
{
    char *p = mallet_malloc(z, 100);
    (void)mallet_realloc(z, p + 8, 200);
}
static void s_realloc_old_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000);
    (void)mallet_malloc(z, 24);
    SIZE_FIELD(p) = 0x10;
    (void)mallet_realloc(z, p, 3000);
}
static void s_realloc_next_size(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
    SIZE_FIELD(g) = 1;
    (void)mallet_realloc(z, p, 3000);
}
static void s_mallinfo(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    PT_INST(z)->main_arena.fastbinsY[0] = (mchunkptr)((char *)pt_mem2chunk(a) + 8);
    struct mallinfo2 m;
    pt_mallinfo2(PT_INST(z), &m);
    (void)g;
}
static void s_malloc_info(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    PT_INST(z)->main_arena.fastbinsY[0] = (mchunkptr)((char *)pt_mem2chunk(a) + 8);
    FILE *f = fopen("/dev/null", "w");
    pt_malloc_info(PT_INST(z), 0, f);
    fclose(f);
    (void)g;
}

/* ---- hardened mode (ptmalloc.harden=1): what glibc itself misses ---------------- */

#define HARD "ptmalloc.harden=1"
#define HARD_NOTC "ptmalloc.harden=1:ptmalloc.tcache_count=0"

static void s_fastbin_not_top(mallet_zone_t *z)
{
    void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
    mallet_free(z, a);
    mallet_free(z, b);
    mallet_free(z, a); /* a is second in the fastbin: glibc does not notice */
    (void)g;
}
static void s_mmapped_twice(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 300000);
    mallet_free(z, p);
    mallet_free(z, p);
}
static void s_inside_top(mallet_zone_t *z)
{
    void *p = mallet_malloc(z, 2000), *q = mallet_malloc(z, 2000);
    mallet_free(z, q); /* into top */
    mallet_free(z, p); /* into top; q now lies inside it */
    mallet_free(z, q);
}
static void s_tcache_poison(mallet_zone_t *z)
{
    static long target[8] __attribute__((aligned(16)));
    void *p = mallet_malloc(z, 24), *q = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, q);
    HDR(q)[0] = (size_t)PT_PROTECT_PTR(&HDR(q)[0], (void *)&target[2]); /* use after free */
    (void)mallet_malloc(z, 24);
    (void)mallet_malloc(z, 24); /* glibc would hand out &target[2] */
}
static void s_unsorted_wild(mallet_zone_t *z)
{
    void *g, *p = unsorted_setup(z, &g);
    HDR(p)[1] = (size_t)0x10000; /* bk: aligned, unmapped */
    (void)mallet_malloc(z, 100);
}

static void expect_kind(const char *name, const char *opts, scenario_fn fn, const char *message,
                        mallet_error_kind_t kind)
{
    TEST_CASE(name)
    {
        mallet_zone_t *z = fresh(opts);
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        fn(z);
        mallet_error_set_handler(old, NULL);
        CHECK_MSG(rec.count == 1, "%u reports (first: '%s')", rec.count, rec.message);
        CHECK_MSG(strcmp(rec.message, message) == 0, "got '%s', want '%s'", rec.message, message);
        CHECK_EQ(rec.kind, kind);
        mallet_zone_destroy(z);
    }
}

/* A scenario glibc 2.36 does not notice: no report at all. destroy() must
 * cope with what it leaves (a fastbin cycle, say). */
static void expect_silent(const char *name, const char *opts, scenario_fn fn)
{
    TEST_CASE(name)
    {
        mallet_zone_t *z = fresh(opts);
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        fn(z);
        mallet_error_set_handler(old, NULL);
        CHECK_EQ(rec.count, 0);
        mallet_zone_destroy(z);
    }
}

static void test_hardened(void)
{
    expect_silent("without harden, a fastbin double free below the top goes unnoticed (as in glibc)", NOTC,
                  s_fastbin_not_top);
    expect_silent("without harden, a plain free does not read the old fastbin head (as in glibc)", NOTC,
                  s_fastbin_entry_plain_free);
    expect_kind("harden: a plain free checks the old fastbin head (under the lock)", HARD_NOTC,
                s_fastbin_entry_plain_free, "invalid fastbin entry (free)", MALLET_ERR_FREELIST_CORRUPTION);
    expect_kind("harden: fastbin double free below the top", HARD_NOTC, s_fastbin_not_top,
                "double free or corruption (fastbin)", MALLET_ERR_DOUBLE_FREE);
    expect_kind("harden: mmapped chunk freed twice", HARD, s_mmapped_twice, "munmap_chunk(): invalid pointer",
                MALLET_ERR_DOUBLE_FREE);
    expect_kind("no harden: mmapped chunk freed twice is an invalid pointer", NULL, s_mmapped_twice,
                "free(): invalid pointer", MALLET_ERR_INVALID_FREE);
    expect_kind("harden: chunk freed again after it merged into top", HARD, s_inside_top,
                "double free or corruption (top)", MALLET_ERR_DOUBLE_FREE);
    expect_kind("harden: tcache poisoning with an aligned foreign pointer", HARD, s_tcache_poison,
                "malloc(): corrupted tcache entry (hardened)", MALLET_ERR_FREELIST_CORRUPTION);
    expect_kind("harden: unsorted link to unmapped memory", HARD, s_unsorted_wild,
                "malloc(): unsorted double linked list corrupted", MALLET_ERR_FREELIST_CORRUPTION);
}

int main(void)
{
    expect("tcache double free", NULL, s_tcache_double_free, "free(): double free detected in tcache 2");
    expect("tcache: too many chunks (cycle)", NULL, s_tcache_too_many, "free(): too many chunks detected in tcache");
    expect("tcache: unaligned entry seen by free", NULL, s_tcache_unaligned_2, "free(): unaligned chunk detected in tcache 2");
    expect("tcache: unaligned entry seen by malloc", NULL, s_tcache_unaligned, "malloc(): unaligned tcache chunk detected");
    expect("fastbin double free", NOTC, s_fasttop, "double free or corruption (fasttop)");
    expect("fastbin entry of the wrong size (realloc's tail, lock held)", NOTC, s_fastbin_entry,
           "invalid fastbin entry (free)");
    expect("fastbin next size", NOTC, s_next_size_fast, "free(): invalid next size (fast)");
    expect("fastbin chunk size corrupted", NOTC, s_memory_corruption_fast, "malloc(): memory corruption (fast)");
    expect("fastbin link misaligned", NOTC, s_fastbin_unaligned_2, "malloc(): unaligned fastbin chunk detected 2");
    expect("fastbin link misaligned while stashing", NULL, s_fastbin_unaligned_3, "malloc(): unaligned fastbin chunk detected 3");
    expect("double free of the chunk merged into top", NULL, s_top, "double free or corruption (top)");
    expect("double free of a binned chunk", NULL, s_notprev, "double free or corruption (!prev)");
    expect("free of a chunk reaching past top", NULL, s_out, "double free or corruption (out)");
    expect("free of an interior pointer", NULL, s_invalid_pointer, "free(): invalid pointer");
    expect("free of a foreign pointer", NULL, s_foreign_pointer, "free(): invalid pointer");
    expect("free with a tiny size", NULL, s_invalid_size, "free(): invalid size");
    expect("free with a bad next size", NULL, s_next_size_normal, "free(): invalid next size (normal)");
    expect("unlink: footer mismatch", NULL, s_unlink_size, "corrupted size vs. prev_size");
    expect("backward merge: size mismatch", NULL, s_consolidating, "corrupted size vs. prev_size while consolidating");
    expect("unlink: fd->bk mismatch", NULL, s_double_linked, "corrupted double-linked list");
    expect("unlink: nextsize mismatch", NULL, s_not_small, "corrupted double-linked list (not small)");
    expect("free: unsorted head damaged", NULL, s_corrupted_unsorted_free, "free(): corrupted unsorted chunks");
    expect("small bin link damaged", NULL, s_smallbin, "malloc(): smallbin double linked list corrupted");
    expect("unsorted: bad size", NULL, s_unsorted_size, "malloc(): invalid size (unsorted)");
    expect("unsorted: bad next size", NULL, s_unsorted_next_size, "malloc(): invalid next size (unsorted)");
    expect("unsorted: footer mismatch", NULL, s_unsorted_prev_size, "malloc(): mismatching next->prev_size (unsorted)");
    expect("unsorted: links damaged", NULL, s_unsorted_list, "malloc(): unsorted double linked list corrupted");
    expect("unsorted: next PREV_INUSE set", NULL, s_unsorted_prev_inuse, "malloc(): invalid next->prev_inuse (unsorted)");
    expect("large bin: nextsize damaged", NULL, s_largebin_nextsize, "malloc(): largebin double linked list corrupted (nextsize)");
    expect("large bin: bk damaged", NULL, s_largebin_bk, "malloc(): largebin double linked list corrupted (bk)");
    expect("large split: unsorted damaged", NULL, s_corrupted_unsorted_split, "malloc(): corrupted unsorted chunks");
    expect("binmap split: unsorted damaged", NULL, s_corrupted_unsorted_split2, "malloc(): corrupted unsorted chunks 2");
    expect("top size", NULL, s_top_size, "malloc(): corrupted top size");
    expect("consolidate: wrong bin", NOTC, s_consolidate_size, "malloc_consolidate(): invalid chunk size");
    expect("consolidate: misaligned link", NOTC, s_consolidate_unaligned, "malloc_consolidate(): unaligned fastbin chunk detected");
    expect("consolidate: prev size", NOTC, s_consolidate_prev_size, "corrupted size vs. prev_size in fastbins");
    expect("munmap_chunk", NULL, s_munmap, "munmap_chunk(): invalid pointer");
    expect("mremap_chunk", NULL, s_mremap, "mremap_chunk(): invalid pointer");
    expect("realloc of an interior pointer", NULL, s_realloc_pointer, "realloc(): invalid pointer");
    expect("realloc: old size", NULL, s_realloc_old_size, "realloc(): invalid old size");
    expect("realloc: next size", NULL, s_realloc_next_size, "realloc(): invalid next size");
    expect("mallinfo2 walk", NOTC, s_mallinfo, "int_mallinfo(): unaligned fastbin chunk detected");
    expect("malloc_info walk", NOTC, s_malloc_info, "__malloc_info(): unaligned fastbin chunk detected");
    test_uaf_planted_aligned_pointer();
    test_hardened();
    return test_summary();
}
