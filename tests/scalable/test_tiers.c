/*
 * test_tiers.c — where requests land and how blocks are recycled in the
 * scalable zone: tier thresholds and rounding (§C.1, §C.8), coalescing of
 * adjacent tiny blocks (§C.3) and confirmation of a left neighbour's
 * trailing size, the last-free cache, the large death-row
 * reuse rule (§C.7), in-place realloc, memalign trimming, batch and sized
 * free.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>

#include "sz_test.h"

#define MiB ((size_t)1 << 20)

/* ---- the recirculation cases' workload ----------------------------------- */

enum { THIN_N = 40000 };
static void *thin_v[THIN_N];
static size_t thin_regions;

/* ~16 MiB of 400 B blocks (about 16 tiny regions), then every block freed
 * except one in 100, which keep every region non-empty. */
static void fill_and_thin(mallet_zone_t *y)
{
    sz_rack_t *rack = &((sz_zone_t *)y)->racks[SZ_TINY];
    for (int i = 0; i < THIN_N; i++)
        thin_v[i] = mallet_malloc(y, 400);
    thin_regions = rack->regions.count;
    CHECK(thin_regions >= 15);
    for (int i = 0; i < THIN_N; i++)
        if (i % 100)
            mallet_free(y, thin_v[i]);
}

/* Magazines are picked by CPU: pinned, every call uses the same one. */
static cpu_set_t saved_affinity;
static bool pin_to_one_cpu(void)
{
    if (sched_getaffinity(0, sizeof saved_affinity, &saved_affinity) != 0)
        return false;
    int cpu = sched_getcpu();
    if (cpu < 0)
        return false;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0;
}
static void unpin(void)
{
    sched_setaffinity(0, sizeof saved_affinity, &saved_affinity);
}

int main(void)
{
    mallet_zone_t *z = sz_zone("max-magazines=1");

    TEST_CASE("malloc(13), (261), (1010), (1.1 MB) land in tiny/tiny/small/large with libmalloc rounding")
    {
        void *a = mallet_malloc(z, 13), *b = mallet_malloc(z, 261), *c = mallet_malloc(z, 1010),
             *d = mallet_malloc(z, 1100000);
        CHECK(!strcmp(sz_tier_name(z, a), "tiny"));
        CHECK(!strcmp(sz_tier_name(z, b), "tiny"));
        CHECK(!strcmp(sz_tier_name(z, c), "small"));
        CHECK(!strcmp(sz_tier_name(z, d), "large"));
        CHECK_EQ(mallet_size(z, a), 16);   /* 1 quantum */
        CHECK_EQ(mallet_size(z, b), 272);  /* msize 17 */
        CHECK_EQ(mallet_size(z, c), 1024); /* 2 small quanta */
        CHECK_EQ(mallet_size(z, d), sz_round_up(1100000, mallet_os_page_size()));
        CHECK_EQ(mallet_good_size(z, 1008), 1008);
        CHECK_EQ(mallet_good_size(z, 1009), 1024);
        CHECK_EQ(mallet_good_size(z, 32768), 32768);
        CHECK_EQ(mallet_good_size(z, 32769), 36864); /* medium off: pages */
        void *zero = mallet_malloc(z, 0);
        CHECK(!strcmp(sz_tier_name(z, zero), "tiny"));
        mallet_free(z, zero);
        mallet_free(z, a);
        mallet_free(z, b);
        mallet_free(z, c);
        mallet_free(z, d);
    }

    TEST_CASE("medium engages when forced: 40 KiB -> medium with 32 KiB quanta")
    {
        mallet_zone_t *m = sz_zone("MallocMediumZone=1");
        void *p = mallet_malloc(m, 40000), *q = mallet_malloc(m, 8 * MiB), *r = mallet_malloc(m, 8 * MiB + 1);
        CHECK(!strcmp(sz_tier_name(m, p), "medium"));
        CHECK_EQ(mallet_size(m, p), 65536);
        CHECK(!strcmp(sz_tier_name(m, q), "medium"));
        CHECK(!strcmp(sz_tier_name(m, r), "large"));
        CHECK(mallet_check(m));
        mallet_zone_destroy(m);
        mallet_zone_t *off = sz_zone("medium=0");
        p = mallet_malloc(off, 40000);
        CHECK(!strcmp(sz_tier_name(off, p), "large"));
        mallet_zone_destroy(off);
    }

    TEST_CASE("freeing three adjacent tiny blocks coalesces them into one free block")
    {
        /* 304 B = 19 quanta: above the last-free cache limit (< 16 quanta),
         * so each free really frees. */
        void *a = mallet_malloc(z, 300), *b = mallet_malloc(z, 300), *c = mallet_malloc(z, 300);
        void *fence = mallet_malloc(z, 300);
        CHECK((char *)b == (char *)a + 304 && (char *)c == (char *)b + 304);
        sz_region_t r = sz_region_of(SZ_TINY, a);
        uint32_t ia = (uint32_t)sz_index_of(SZ_TINY, r, a);
        mallet_free(z, a);
        mallet_free(z, c);
        CHECK_EQ(sz_tiny_ops.free_msize(r, ia), 19);
        mallet_free(z, b);
        CHECK_EQ(sz_tiny_ops.free_msize(r, ia), 57);
        CHECK_EQ(sz_tiny_ops.free_msize(r, ia + 19), 0); /* no longer a block start */
        CHECK(mallet_check(z));
        void *big = mallet_malloc(z, 57 * 16);
        CHECK(big == a);
        mallet_free(z, big);
        mallet_free(z, fence);
    }

    TEST_CASE("a free 1-quantum tiny block is not taken for a larger left neighbour whose sizes user data mimics")
    {
        /* Regression: tiny_prev_free() confirmed the candidate left neighbour
         * at idx - m with its raw inline size word at +16. A 1-quantum free
         * block has none: those bytes are the next block's data. With the
         * freed block's preceding 2 bytes and the bytes right after a free
         * 1-quantum block both equal to m, the free merged over the live
         * blocks in between ("size too small (1/58)" later, 1 run in 6 of
         * the 4-thread stress test). Fresh zone: blocks carve in order. */
        mallet_zone_t *y = sz_zone("max-magazines=1");
        sz_recording(true);
        enum { M = 100 };
        unsigned char *a = mallet_malloc(y, 16);    /* q0, 1 quantum       */
        unsigned char *b = mallet_malloc(y, 64);    /* q1..q4              */
        unsigned char *f = mallet_malloc(y, 1008);  /* q5..q67             */
        unsigned char *c = mallet_malloc(y, 512);   /* q68..q99            */
        unsigned char *d = mallet_malloc(y, 256);   /* q100..q115, > cache */
        void *g1 = mallet_malloc(y, 16), *x = mallet_malloc(y, 16);
        void *g2 = mallet_malloc(y, 16), *w = mallet_malloc(y, 16);
        void *g3 = mallet_malloc(y, 16);
        CHECK(b == a + 16 && f == b + 64 && c == f + 1008 && d == c + 512);
        sz_region_t r = sz_region_of(SZ_TINY, a);
        CHECK_EQ(sz_index_of(SZ_TINY, r, a), 0);
        uint16_t m = M;
        memcpy(b, &m, 2);         /* what a's inline size would be       */
        memcpy(c + 510, &m, 2);   /* d's would-be left trailing size     */
        mallet_free(y, a);        /* into the last-free cache            */
        mallet_free(y, x);        /* a really freed                      */
        mallet_free(y, w);        /* x really freed: a is not list head  */
        CHECK_EQ(sz_tiny_ops.free_msize(r, 0), 1);
        mallet_free(y, d);        /* 16 quanta: really freed, looks left */
        CHECK_EQ(sz_tiny_ops.free_msize(r, 0), 1);
        CHECK_EQ(sz_tiny_ops.free_msize(r, M), 16);
        CHECK_EQ(mallet_size(y, b), 64);
        CHECK_EQ(mallet_size(y, c), 512);
        CHECK(mallet_check(y));
        void *big = mallet_malloc(y, 1008); /* overflow-slot path */
        CHECK(big != NULL);
        CHECK_MSG(sz_reports == 0, "%d reports (last: %s)", sz_reports, sz_last.message);
        sz_recording(false);
        mallet_free(y, big);
        mallet_free(y, b);
        mallet_free(y, f);
        mallet_free(y, c);
        mallet_free(y, g1);
        mallet_free(y, g2);
        mallet_free(y, g3);
        CHECK(mallet_check(y));
        mallet_zone_destroy(y);
    }

    TEST_CASE("a free 1-quantum tiny block is not taken for a larger left neighbour by stale inline bytes")
    {
        /* q0 a (free, 1 quantum) | q1-2 b (in use) | q3 c (freed) | q4 d | q5 e | q6 f.
         * b's first and last two bytes hold 3: read as a's inline size and
         * as a trailing size before c they describe a 3-quantum free block
         * [q0, q3). c must not coalesce across b. */
        mallet_zone_t *y = sz_zone("max-magazines=1");
        char *a = mallet_malloc(y, 16), *b = mallet_malloc(y, 32), *c = mallet_malloc(y, 16);
        char *d = mallet_malloc(y, 16), *e = mallet_malloc(y, 16), *f = mallet_malloc(y, 16);
        CHECK(b == a + 16 && c == b + 32 && d == c + 16 && e == d + 16 && f == e + 16);
        uint16_t three = 3;
        memcpy(b, &three, 2);
        memcpy(b + 30, &three, 2);
        mallet_free(y, a); /* cached */
        mallet_free(y, e); /* a really freed: 1 quantum, b in use after it */
        mallet_free(y, c); /* e really freed */
        mallet_free(y, f); /* c really freed: must stay 1 quantum */
        sz_region_t r = sz_region_of(SZ_TINY, a);
        CHECK_EQ(sz_tiny_ops.free_msize(r, (uint32_t)sz_index_of(SZ_TINY, r, c)), 1);
        CHECK_EQ(sz_tiny_ops.free_msize(r, (uint32_t)sz_index_of(SZ_TINY, r, a)), 1);
        char *g = mallet_malloc(y, 64);
        CHECK(g + 64 <= b || g >= b + 32);
        CHECK_EQ(mallet_size(y, b), 32);
        CHECK(mallet_check(y));
        mallet_zone_destroy(y);
    }

    TEST_CASE("last-free cache returns the block just freed (tiny < 256 B, small any size)")
    {
        void *p = mallet_malloc(z, 100);
        mallet_free(z, p);
        CHECK_EQ(mallet_size(z, p), 0); /* cached counts as freed */
        CHECK(mallet_malloc(z, 100) == p);
        void *s = mallet_malloc(z, 20000);
        mallet_free(z, s);
        CHECK(mallet_malloc(z, 20000) == s);
        mallet_free(z, p);
        mallet_free(z, s);
    }

    TEST_CASE("death row: a cached large block is reused only when it is at most twice the request")
    {
        void *p = mallet_malloc(z, 4 * MiB);
        memset(p, 1, 4 * MiB);
        mallet_free(z, p);
        CHECK_EQ(mallet_size(z, p), 0);
        void *q = mallet_malloc(z, 3 * MiB); /* 4 MiB <= 2 x 3 MiB: reuse */
        CHECK(q == p);
        CHECK_EQ(mallet_size(z, q), 4 * MiB);
        mallet_free(z, q);
        void *r = mallet_malloc(z, 1 * MiB); /* 4 MiB > 2 x 1 MiB: fresh */
        CHECK(r != p);
        void *s = mallet_malloc(z, 2 * MiB + 4096); /* 4 MiB < 2 x 2.004 MiB: reuse */
        CHECK(s == p);
        mallet_free(z, r);
        mallet_free(z, s);
        CHECK(mallet_pressure_relief(z, 0) > 0);
        CHECK_EQ(z->backend->id[0], 's');
    }

    TEST_CASE("realloc grows and shrinks tiny and small blocks in place; large grows in place when it can")
    {
        void *p = mallet_malloc(z, 320);
        void *fence = NULL;
        memset(p, 7, 320);
        void *q = mallet_realloc(z, p, 600); /* carves from the free tail */
        CHECK(q == p);
        q = mallet_realloc(z, q, 100);       /* <= half: tail given back */
        CHECK(q == p && mallet_size(z, q) == 112);
        CHECK(((unsigned char *)q)[99] == 7);
        void *s = mallet_malloc(z, 4096);
        void *s2 = mallet_realloc(z, s, 2048);
        CHECK(s2 == s && mallet_size(z, s2) == 2048);
        void *l = mallet_malloc(z, 64 * MiB);
        memset(l, 3, 64 * MiB);
        void *l2 = mallet_realloc(z, l, 64 * MiB + 8192);
        CHECK(l2 != NULL && ((unsigned char *)l2)[64 * MiB - 1] == 3);
        CHECK(mallet_check(z));
        mallet_free(z, q);
        mallet_free(z, s2);
        mallet_free(z, l2);
        (void)fence;
    }

    TEST_CASE("memalign trims the span; results aligned, owned and checkable")
    {
        void *ps[40];
        int k = 0;
        for (size_t al = 32; al <= 2 * MiB; al *= 2) {
            ps[k] = mallet_memalign(z, al, 100);
            CHECK_MSG(ps[k] && ((uintptr_t)ps[k] & (al - 1)) == 0, "align %zu -> %p", al, ps[k]);
            CHECK(mallet_size(z, ps[k]) >= 100);
            k++;
        }
        CHECK(mallet_check(z));
        for (int i = 0; i < k; i++)
            mallet_free(z, ps[i]);
        CHECK(mallet_check(z));
    }

    TEST_CASE("batch_malloc serves tiny requests; free_definite_size frees by stated size")
    {
        void *v[50];
        unsigned n = mallet_batch_malloc(z, 48, v, 50);
        CHECK_EQ(n, 50);
        for (unsigned i = 0; i < n; i++)
            CHECK(mallet_size(z, v[i]) == 48);
        mallet_batch_free(z, v, n);
        void *a = mallet_malloc(z, 500), *b = mallet_malloc(z, 5000), *c = mallet_malloc(z, 50000);
        mallet_free_definite_size(z, a, 500);
        mallet_free_definite_size(z, b, 5000);
        mallet_free_definite_size(z, c, 50000);
        mallet_zone_stats_t st;
        mallet_statistics(z, &st);
        CHECK_EQ(st.blocks_in_use, 0);
        CHECK(mallet_check(z));
    }

    TEST_CASE("recirculation: a magazine with mostly empty regions hands them to the depot, which unmaps the empty ones")
    {
        /* Two magazines (one never recirculates, see below), the thread
         * pinned so that every call uses the same one. */
        bool pinned = pin_to_one_cpu();
        mallet_zone_t *y = sz_zone("max-magazines=2:recirc-retained=1");
        sz_rack_t *rack = &((sz_zone_t *)y)->racks[SZ_TINY];
        if (!pinned || rack->nmags < 2) {
            printf("  (skipped: needs 2 CPUs and sched_setaffinity)\n");
        } else {
            fill_and_thin(y);
            size_t regions = thin_regions;
            CHECK_MSG(rack->mags[SZ_MAG_DEPOT].nregions > 0, "depot holds %zu regions", rack->mags[SZ_MAG_DEPOT].nregions);
            CHECK(mallet_check(y));
            /* Reallocating pulls regions back out of the depot. */
            for (int i = 0; i < THIN_N; i++)
                if (i % 100)
                    thin_v[i] = mallet_malloc(y, 400);
            CHECK(mallet_check(y));
            CHECK_MSG(rack->regions.count <= regions + 1, "%zu regions, was %zu", rack->regions.count, regions);
            for (int i = 0; i < THIN_N; i++)
                mallet_free(y, thin_v[i]);
            CHECK(mallet_check(y));
            CHECK_MSG(rack->regions.count < regions, "empty depot regions unmapped: %zu of %zu left",
                      rack->regions.count, regions);
            /* Retained 1: a region that empties in the depot always goes. */
            CHECK_MSG(rack->mags[SZ_MAG_DEPOT].nregions == 0, "depot keeps %zu", rack->mags[SZ_MAG_DEPOT].nregions);
        }
        mallet_zone_destroy(y);
        unpin();
    }

    TEST_CASE("the depot unmaps an emptied region once it holds the retained count, that region included")
    {
        /* libmalloc (*_free_try_depot_unmap_no_lock) keeps an empty depot
         * region only while the depot has fewer than
         * MallocRecircRetainedRegions (2) regions counting it: after
         * everything is freed the depot is left with one, not two. */
        bool pinned = pin_to_one_cpu();
        mallet_zone_t *y = sz_zone("max-magazines=2");
        sz_rack_t *rack = &((sz_zone_t *)y)->racks[SZ_TINY];
        if (!pinned || rack->nmags < 2) {
            printf("  (skipped: needs 2 CPUs and sched_setaffinity)\n");
        } else {
            fill_and_thin(y);
            sz_magazine_t *depot = &rack->mags[SZ_MAG_DEPOT];
            size_t in_depot = depot->nregions;
            CHECK_MSG(in_depot >= 2, "depot holds %zu regions", in_depot);
            for (int i = 0; i < THIN_N; i += 100)
                mallet_free(y, thin_v[i]);
            CHECK(mallet_check(y));
            CHECK_MSG(depot->nregions == 1, "depot keeps %zu empty regions (retained 2)", depot->nregions);
        }
        mallet_zone_destroy(y);
        unpin();
    }

    TEST_CASE("one magazine never recirculates: its emptied regions stay with it and none are unmapped")
    {
        /* libmalloc: "Uniprocessor, single magazine, so no recirculation
         * necessary" (tiny, small and medium alike). */
        mallet_zone_t *y = sz_zone("max-magazines=1");
        sz_rack_t *rack = &((sz_zone_t *)y)->racks[SZ_TINY];
        CHECK_EQ(rack->nmags, 1);
        fill_and_thin(y);
        CHECK_MSG(rack->mags[SZ_MAG_DEPOT].nregions == 0, "depot holds %zu regions", rack->mags[SZ_MAG_DEPOT].nregions);
        CHECK_EQ(rack->mags[0].nregions, thin_regions);
        for (int i = 0; i < THIN_N; i += 100)
            mallet_free(y, thin_v[i]);
        CHECK_EQ(rack->regions.count, thin_regions);
        CHECK(mallet_check(y));
        mallet_zone_destroy(y);
    }

    mallet_zone_destroy(z);
    return test_summary();
}
