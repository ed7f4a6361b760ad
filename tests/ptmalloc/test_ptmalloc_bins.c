/*
 * test_ptmalloc_bins.c — where freed chunks go and in which order they
 * come back: tcache (LIFO), then fastbins (LIFO, stashing into the
 * tcache), small bins (FIFO), best fit in large bins, the binmap search,
 * the last-remainder rule, the mmap threshold and its dynamic raise,
 * trimming, options/tunables and check() on a corrupted header.
 */
#include "pt_test_util.h"

static void test_tcache_then_fastbin(void)
{
    TEST_CASE("tcache is LIFO and holds 7; the 8th and 9th go to the fastbin and are stashed back")
    {
        mallet_zone_t *z = fresh(NULL);
        void *a[9], *g[9];
        for (int i = 0; i < 9; i++) {
            a[i] = mallet_malloc(z, 40);
            g[i] = mallet_malloc(z, 500); /* guard: keeps chunks apart and away from top */
        }
        for (int i = 0; i < 9; i++)
            mallet_free(z, a[i]);
        pt_inst_t *inst = PT_INST(z);
        CHECK(inst->main_arena.fastbinsY[pt_fastbin_index(48)] != NULL);
        for (int i = 6; i >= 0; i--)
            CHECK_MSG(mallet_malloc(z, 40) == a[i], "tcache order at %d", i);
        CHECK(mallet_malloc(z, 40) == a[8]); /* fastbin head; a[7] is stashed into the tcache */
        CHECK(inst->main_arena.fastbinsY[pt_fastbin_index(48)] == NULL);
        CHECK(mallet_malloc(z, 40) == a[7]);
        CHECK(mallet_check(z));
        (void)g;
        mallet_zone_destroy(z);
    }
}

static void test_smallbin_fifo(void)
{
    TEST_CASE("small bins are FIFO (tail taken), reached only when the tcache bin is empty")
    {
        mallet_zone_t *z = fresh(NULL);
        void *b[7], *a[3], *g[10];
        for (int i = 0; i < 7; i++) {
            b[i] = mallet_malloc(z, 200);
            g[i] = mallet_malloc(z, 24);
        }
        for (int i = 0; i < 3; i++) {
            a[i] = mallet_malloc(z, 200);
            g[7 + i] = mallet_malloc(z, 24);
        }
        for (int i = 0; i < 7; i++)
            mallet_free(z, b[i]); /* fills the 208-byte tcache bin */
        for (int i = 0; i < 3; i++)
            mallet_free(z, a[i]); /* unsorted, newest at the head */
        void *big = mallet_malloc(z, 300); /* sorts a[0..2] into small bin 13 */
        pt_inst_t *inst = PT_INST(z);
        mchunkptr bin = pt_bin_at(&inst->main_arena, pt_smallbin_index(208));
        CHECK(pt_last(bin) == pt_mem2chunk(a[0]));
        CHECK(inst->main_arena.binmap[0] & pt_idx2bit(pt_smallbin_index(208)));
        for (int i = 6; i >= 0; i--)
            CHECK(mallet_malloc(z, 200) == b[i]); /* tcache first */
        CHECK(mallet_malloc(z, 200) == a[0]);     /* oldest free chunk: FIFO */
        /* a[1], a[2] were stashed into the tcache, a[2] last: LIFO from there */
        CHECK(mallet_malloc(z, 200) == a[2]);
        CHECK(mallet_malloc(z, 200) == a[1]);
        CHECK(mallet_check(z));
        (void)big;
        (void)g[0];
        mallet_zone_destroy(z);
    }
}

static void test_largebin_best_fit(void)
{
    TEST_CASE("a large request takes the best-fitting chunk of its bin; the binmap finds the next bin")
    {
        mallet_zone_t *z = fresh(NULL);
        void *A = mallet_malloc(z, 1120); /* chunk 1136, large bin 65 */
        void *g1 = mallet_malloc(z, 24);
        void *B = mallet_malloc(z, 1096); /* chunk 1104, large bin 65 */
        void *g2 = mallet_malloc(z, 24);
        CHECK_EQ(CHUNKSIZE(A), 1136);
        CHECK_EQ(CHUNKSIZE(B), 1104);
        CHECK_EQ(pt_largebin_index(1136), pt_largebin_index(1104));
        mallet_free(z, A);
        mallet_free(z, B);
        void *r = mallet_malloc(z, 1080); /* nb 1088: sorts both into bin 65 (A first, B behind it) */
        CHECK_MSG(r == B, "best fit should be B (%p), got %p (A %p)", B, r, A);
        CHECK(mallet_check(z));
        mallet_free(z, r);
        /* Now bin 65 holds A and B again; a 1040 request (bin 64, empty) goes
         * through the binmap to bin 65 and splits its smallest chunk. */
        void *s = mallet_malloc(z, 1040);
        CHECK_MSG(s == B, "binmap split should use B (%p), got %p", B, s);
        CHECK_EQ(CHUNKSIZE(s), 1056);
        CHECK(mallet_check(z));
        (void)g1; (void)g2;
        mallet_zone_destroy(z);
    }
    TEST_CASE("large bins: equal sizes insert second, sorted by decreasing size")
    {
        mallet_zone_t *z = fresh(NULL);
        void *c[4], *g[4];
        size_t req[4] = {2016, 1984, 2016, 2000}; /* chunks 2032, 2000, 2032, 2016: one bin */
        for (int i = 0; i < 4; i++) {
            c[i] = mallet_malloc(z, req[i]);
            g[i] = mallet_malloc(z, 24);
        }
        for (int i = 0; i < 4; i++)
            mallet_free(z, c[i]);
        void *big = mallet_malloc(z, 5000); /* sorts everything */
        pt_inst_t *inst = PT_INST(z);
        mchunkptr bin = pt_bin_at(&inst->main_arena, pt_largebin_index(2032));
        mchunkptr p = bin->fd;
        /* unsorted is processed oldest first: c0 (2032), c1 (2000), c2 (2032), c3 (2016) */
        CHECK(p == pt_mem2chunk(c[0]));
        CHECK(p->fd == pt_mem2chunk(c[2])); /* equal size: second, not leader */
        CHECK(p->fd->fd == pt_mem2chunk(c[3]));
        CHECK(p->fd->fd->fd == pt_mem2chunk(c[1]));
        CHECK(p->fd_nextsize == pt_mem2chunk(c[3]));
        CHECK(pt_mem2chunk(c[2])->fd_nextsize == NULL);
        CHECK(mallet_check(z));
        (void)big; (void)g;
        mallet_zone_destroy(z);
    }
}

static void test_last_remainder(void)
{
    TEST_CASE("last_remainder: consecutive small requests are carved from the same remainder")
    {
        mallet_zone_t *z = fresh(NULL);
        void *big = mallet_malloc(z, 3000);
        void *g = mallet_malloc(z, 24);
        mallet_free(z, big);
        void *p = mallet_malloc(z, 100); /* sorts big, splits it via binmap, remainder = last_remainder */
        CHECK(p == big);
        pt_inst_t *inst = PT_INST(z);
        CHECK(inst->main_arena.last_remainder == pt_chunk_at(pt_mem2chunk(p), 112));
        void *q = mallet_malloc(z, 100);
        CHECK(q == (char *)p + 112);
        void *r = mallet_malloc(z, 100);
        CHECK(r == (char *)q + 112);
        CHECK(mallet_check(z));
        (void)g;
        mallet_zone_destroy(z);
    }
}

static bool is_mmapped(void *p) { return (SIZE_FIELD(p) & PT_IS_MMAPPED) != 0; }

static void test_mmap_threshold(void)
{
    TEST_CASE("requests >= 128 KiB are mmapped; freeing one raises the threshold (dynamic)")
    {
        mallet_zone_t *z = fresh(NULL);
        pt_inst_t *inst = PT_INST(z);
        void *small = mallet_malloc(z, 128 * 1024 - 100);
        CHECK(!is_mmapped(small));
        void *p = mallet_malloc(z, 200000);
        CHECK(is_mmapped(p));
        CHECK_EQ(PREV_SIZE_FIELD(p), 0);
        CHECK_EQ(CHUNKSIZE(p), 200704); /* page_align(200016 + 8) */
        CHECK_EQ(mallet_size(z, p), 200704 - 16);
        CHECK_EQ(inst->mp.n_mmaps, 1);
        mallet_free(z, p);
        CHECK_EQ(inst->mp.mmap_threshold, 200704);
        CHECK_EQ(inst->mp.trim_threshold, 2 * 200704);
        void *q = mallet_malloc(z, 200000);
        CHECK(!is_mmapped(q)); /* now served from the heap */
        void *big = mallet_malloc(z, 300000);
        CHECK(is_mmapped(big));
        mallet_free(z, big);
        CHECK_EQ(inst->mp.mmap_threshold, 303104); /* page_align(300016 + 8) */
        void *huge = mallet_malloc(z, 40 * 1024 * 1024); /* above the 32 MiB dynamic maximum */
        CHECK(is_mmapped(huge));
        mallet_free(z, huge);
        CHECK_EQ(inst->mp.mmap_threshold, 303104);
        CHECK(mallet_check(z));
        mallet_free(z, q);
        mallet_free(z, small);
        mallet_zone_destroy(z);
    }
    TEST_CASE("setting mmap_threshold (option or mallopt) disables the dynamic raise")
    {
        mallet_zone_t *z = fresh("ptmalloc.mmap_threshold=65536");
        pt_inst_t *inst = PT_INST(z);
        void *p = mallet_malloc(z, 200000); /* the threshold is asked only when top is too small */
        CHECK(is_mmapped(p));
        mallet_free(z, p);
        CHECK_EQ(inst->mp.mmap_threshold, 65536);
        mallet_zone_destroy(z);
        z = fresh(NULL);
        inst = PT_INST(z);
        CHECK_EQ(pt_mallopt(inst, -3 /* M_MMAP_THRESHOLD */, 1 << 20), 1);
        p = mallet_malloc(z, 200000);
        CHECK(!is_mmapped(p));
        mallet_free(z, p);
        CHECK_EQ(pt_mallopt(inst, -4 /* M_MMAP_MAX */, 0), 1);
        p = mallet_malloc(z, 4 << 20);
        CHECK(p && !is_mmapped(p));
        mallet_free(z, p);
        CHECK_EQ(pt_mallopt(inst, 1 /* M_MXFAST */, 161), 0);
        CHECK_EQ(pt_mallopt(inst, 1 /* M_MXFAST */, 0), 1);
        CHECK_EQ(inst->mp.max_fast, 16);
        mallet_zone_destroy(z);
    }
}

static void test_trim_and_calloc(void)
{
    TEST_CASE("freeing into top past trim_threshold gives memory back (systrim); malloc_trim works")
    {
        mallet_zone_t *z = fresh(NULL);
        pt_inst_t *inst = PT_INST(z);
        void *p[64];
        for (int i = 0; i < 64; i++)
            p[i] = mallet_malloc(z, 100000);
        size_t grown = inst->main_arena.system_mem;
        CHECK(grown > 64 * 100000);
        for (int i = 63; i >= 0; i--)
            mallet_free(z, p[i]);
        CHECK_MSG(inst->main_arena.system_mem < grown / 4, "system_mem %zu after frees, was %zu",
                  inst->main_arena.system_mem, grown);
        CHECK(pt_chunksize(inst->main_arena.top) < inst->mp.trim_threshold + inst->mp.top_pad + 4096);
        for (int i = 0; i < 64; i++)
            p[i] = mallet_malloc(z, 3000);
        for (int i = 0; i < 64; i += 2)
            mallet_free(z, p[i]);
        mallet_pressure_relief(z, 0);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
    TEST_CASE("calloc clears recycled memory; perturb fills allocations and frees")
    {
        mallet_zone_t *z = fresh("ptmalloc.perturb=0x5a");
        unsigned char *p = mallet_malloc(z, 3000);
        CHECK(p[0] == (0x5a ^ 0xff) && p[2999] == (0x5a ^ 0xff));
        void *g = mallet_malloc(z, 24);
        memset(p, 0x77, 3000);
        mallet_free(z, p);
        CHECK(p[100] == 0x5a);
        unsigned char *c = mallet_calloc(z, 1, 3000);
        CHECK(c == p);
        int nz = 0;
        for (int i = 0; i < 3000; i++)
            nz += c[i] != 0;
        CHECK_EQ(nz, 0);
        (void)g;
        mallet_zone_destroy(z);
    }
}

static void test_options(void)
{
    TEST_CASE("glibc tunables and MALLOC_*_ aliases configure new instances")
    {
        setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0:glibc.malloc.tcache_count=0:glibc.malloc.mxfast=64", 1);
        setenv("MALLOC_TOP_PAD_", "4096", 1);
        mallet_zone_t *z = fresh(NULL);
        pt_inst_t *inst = PT_INST(z);
        CHECK_EQ(inst->mp.tcache_count, 0);
        CHECK_EQ(inst->mp.max_fast, 64);
        CHECK_EQ(inst->mp.top_pad, 4096);
        CHECK_EQ(inst->mp.no_dyn_threshold, 1);
        void *a = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
        mallet_free(z, a);
        CHECK(inst->main_arena.fastbinsY[0] == pt_mem2chunk(a)); /* no tcache: straight to the fastbin */
        (void)g;
        mallet_zone_destroy(z);
        unsetenv("GLIBC_TUNABLES");
        unsetenv("MALLOC_TOP_PAD_");
        z = fresh("ptmalloc.tcache_max=64:glibc.malloc.arena_max=2");
        inst = PT_INST(z);
        CHECK_EQ(inst->mp.tcache_bins, 4); /* chunks 32..80 */
        CHECK_EQ(inst->mp.arena_max, 2);
        mallet_zone_destroy(z);
        char err[200] = "";
        CHECK(mallet_backend_find("ptmalloc")->create_zone("ptmalloc.nonsense=1", err, sizeof err) == NULL);
        CHECK(strstr(err, "nonsense") != NULL);
    }
}

static void test_check_catches_corruption(void)
{
    TEST_CASE("check() reports a corrupted chunk header")
    {
        mallet_zone_t *z = fresh(NULL);
        void *p[8];
        for (int i = 0; i < 8; i++)
            p[i] = mallet_malloc(z, 100);
        CHECK(mallet_check(z));
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        SIZE_FIELD(p[3]) += 16; /* one-word overflow from p[2] into p[3]'s size */
        CHECK_EQ(mallet_check(z), 0);
        CHECK_EQ(rec.count, 1);
        CHECK_EQ(rec.kind, MALLET_ERR_CHECK_FAILED);
        CHECK_MSG(strstr(rec.message, "ptmalloc check") != NULL, "message: %s", rec.message);
        mallet_error_set_handler(old, NULL);
        mallet_zone_destroy(z); /* destroy works on a poisoned zone */
    }
    TEST_CASE("check() reports a corrupted free-list link")
    {
        mallet_zone_t *z = fresh(NULL);
        void *a = mallet_malloc(z, 2000), *g = mallet_malloc(z, 24);
        mallet_free(z, a);
        CHECK(mallet_check(z));
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        HDR(a)[1] = (size_t)g; /* bk */
        CHECK_EQ(mallet_check(z), 0);
        CHECK_EQ(rec.kind, MALLET_ERR_CHECK_FAILED);
        mallet_error_set_handler(old, NULL);
        mallet_zone_destroy(z);
    }
}

static unsigned enum_blocks;
static void count_blocks(void *ctx, unsigned type, const mallet_range_t *r, unsigned n)
{
    (void)ctx; (void)r;
    if (type == MALLET_ENUM_BLOCKS)
        enum_blocks += n;
}

static void test_introspection(void)
{
    TEST_CASE("enumerate and statistics see exactly the live blocks")
    {
        mallet_zone_t *z = fresh(NULL);
        void *p[50];
        for (int i = 0; i < 50; i++)
            p[i] = mallet_malloc(z, (size_t)(16 + i * 40));
        void *m = mallet_malloc(z, 500000);
        for (int i = 0; i < 50; i += 2)
            mallet_free(z, p[i]);
        mallet_zone_stats_t s;
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 26);
        enum_blocks = 0;
        CHECK_EQ(mallet_enumerate(z, MALLET_ENUM_ALL, NULL, count_blocks), 0);
        CHECK_EQ(enum_blocks, 26);
        CHECK(mallet_claimed_address(z, (char *)m + 1000));
        CHECK(!mallet_claimed_address(z, &s));
        CHECK_EQ(mallet_size(z, &s), 0);
        CHECK_EQ(mallet_good_size(z, 100), 104);
        mallet_zone_destroy(z);
    }
}

static void test_double_free_promise(void)
{
    TEST_CASE("the immediate double-free promise covers fastbin sizes only, and follows M_MXFAST")
    {
        /* That the promise is kept inside the limit is test_ptmalloc_errors.c's
         * "tcache double free" and "fastbin double free"; beyond it glibc has
         * the blind spots described at pt_update_promises. */
        mallet_zone_t *z = fresh(NULL);
        CHECK(z->caps & MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE);
        CHECK(!(z->caps & MALLET_CAP_DETECT_DOUBLE_FREE));
        CHECK_EQ(z->double_free_immediate_max, 120); /* chunk 128 = global_max_fast */
        pt_inst_t *inst = PT_INST(z);
        CHECK_EQ(pt_mallopt(inst, 1 /* M_MXFAST */, 0), 1); /* no fastbins: nothing to promise */
        CHECK(!(z->caps & MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE));
        CHECK_EQ(z->double_free_immediate_max, 0);
        CHECK_EQ(pt_mallopt(inst, 1 /* M_MXFAST */, 64), 1);
        CHECK(z->caps & MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE);
        CHECK_EQ(z->double_free_immediate_max, 56); /* (64 + 8) & ~15 = chunk 64 */
        mallet_zone_destroy(z);

        z = fresh("ptmalloc.mxfast=0");
        CHECK(!(z->caps & MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE));
        mallet_zone_destroy(z);
    }
}

int main(void)
{
    test_tcache_then_fastbin();
    test_smallbin_fifo();
    test_largebin_best_fit();
    test_last_remainder();
    test_mmap_threshold();
    test_trim_and_calloc();
    test_options();
    test_check_catches_corruption();
    test_introspection();
    test_double_free_promise();
    return test_summary();
}
