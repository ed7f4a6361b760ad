/*
 * test_fidelity.c — libmalloc details of the scalable zone that are easy to
 * lose: small free blocks that start on a page keep their list entry out of
 * band so all their pages can be madvised (§C.4); medium tracks clean and
 * dirty per run in its madvise words (§C.5); MallocGuardEdges guards large
 * blocks, and "=all" adds a guard page after every region (§C.7, 792).
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "sz_test.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Resident pages of [p, p+len), via mincore. */
static size_t resident_pages(void *p, size_t len)
{
    size_t page = mallet_os_page_size(), n = len / page, res = 0;
    unsigned char vec[64];
    if (n > sizeof vec || mincore(p, len, vec) != 0)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        res += vec[i] & 1;
    return res;
}

/* The protection of the mapping holding address a, from /proc/self/maps
 * ("rw-p", "---p"), or "" if a is not mapped. */
static void perms_at(uintptr_t a, char out[5])
{
    out[0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
            memcpy(out, perms, 5);
            break;
        }
    }
    fclose(f);
}

/* Free p for real: the last-free cache takes the next freed block. */
static void free_uncached(mallet_zone_t *z, void *p, size_t dummy_size)
{
    mallet_free(z, p);
    void *d = mallet_malloc(z, dummy_size);
    mallet_free(z, d); /* d now sits in the cache, p was really freed */
}

static uint16_t madv_word(void *p, int delta)
{
    sz_region_t r = sz_region_of(SZ_MEDIUM, p);
    return ((sz_medium_meta_t *)r)->madv[sz_index_of(SZ_MEDIUM, r, p) + (uint32_t)delta];
}

int main(void)
{
    size_t page = mallet_os_page_size();

    TEST_CASE("a page-aligned free small block is listed out of band; all its pages can be madvised")
    {
        mallet_zone_t *z = sz_zone("max-magazines=1");
        /* Pad so that the next small block starts on a page. */
        void *x = mallet_malloc(z, 1024);
        size_t off = ((uintptr_t)x + 1024) & (page - 1);
        void *pad = mallet_malloc(z, page - off + page); /* > 1008 B: small */
        void *a[4];
        for (int i = 0; i < 4; i++)
            a[i] = mallet_malloc(z, 2 * page);
        CHECK(!strcmp(sz_tier_name(z, a[1]), "small"));
        CHECK_MSG(((uintptr_t)a[1] & (page - 1)) == 0, "a[1] = %p not page-aligned", a[1]);
        memset(a[1], 0x5c, 2 * page);
        free_uncached(z, a[1], 1536);
        sz_small_oob_t *o = sz_small_oob_find(&((sz_zone_t *)z)->racks[SZ_SMALL], a[1], (uint32_t)(2 * page / 512));
        CHECK_MSG(o != NULL, "no out-of-band entry for %p", a[1]);
        if (o) {
            sz_region_t r = sz_region_of(SZ_SMALL, a[1]);
            CHECK_EQ(o->ptr, sz_index_of(SZ_SMALL, r, a[1]) | SZ_SMALL_IS_OOB);
        }
        /* Nothing of the list lives in the block: the program may scribble
         * over all of it (use after free) and the lists stay intact. */
        memset(a[1], 0xEE, 2 * page);
        CHECK(mallet_check(z));
        CHECK_EQ(resident_pages(a[1], 2 * page), 2);
        mallet_pressure_relief(z, 0); /* MADV_DONTNEED on free pages */
        CHECK_MSG(resident_pages(a[1], 2 * page) == 0, "%zu of 2 pages still resident",
                  resident_pages(a[1], 2 * page));
        CHECK(mallet_check(z));
        void *again = mallet_malloc(z, 2 * page); /* still on its list */
        CHECK(again == a[1]);
        CHECK_EQ(((unsigned char *)again)[0], 0); /* the page really went */
        CHECK(mallet_check(z));
        mallet_free(z, again);
        mallet_free(z, pad);
        for (int i = 0; i < 4; i++)
            if (i != 1)
                mallet_free(z, a[i]);
        mallet_free(z, x);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }

    TEST_CASE("small blocks beyond the out-of-band slots fall back to in-place entries; check() holds")
    {
        mallet_zone_t *z = sz_zone("max-magazines=1");
        void *x = mallet_malloc(z, 1024);
        size_t off = ((uintptr_t)x + 1024) & (page - 1);
        void *pad = mallet_malloc(z, page - off + page);
        enum { N = 2 * SZ_SMALL_OOB_COUNT + 20 };
        void *b[N];
        for (int i = 0; i < N; i++)
            b[i] = mallet_malloc(z, page);
        for (int i = 0; i < N; i += 2)
            mallet_free(z, b[i]);
        mallet_free(z, x); /* pushes the last one out of the cache */
        sz_small_meta_t *r = (sz_small_meta_t *)sz_region_of(SZ_SMALL, b[0]);
        unsigned used = 0, inplace = 0;
        for (unsigned i = 0; i < SZ_SMALL_OOB_COUNT; i++)
            used += r->oob[i].ptr != 0;
        for (int i = 0; i < N; i += 2)
            inplace += sz_small_oob_find(&((sz_zone_t *)z)->racks[SZ_SMALL], b[i], (uint32_t)(page / 512)) == NULL;
        CHECK_EQ(used, SZ_SMALL_OOB_COUNT);
        CHECK_EQ(inplace, N / 2 - SZ_SMALL_OOB_COUNT);
        CHECK(mallet_check(z));
        /* A damaged in-place link is still caught by its checksum. */
        void *victim = NULL;
        for (int i = 0; i < N && victim == NULL; i += 2)
            if (sz_small_oob_find(&((sz_zone_t *)z)->racks[SZ_SMALL], b[i], (uint32_t)(page / 512)) == NULL)
                victim = b[i];
        CHECK(victim != NULL);
        if (victim) {
            ((unsigned char *)victim)[8] ^= 0x5a; /* prev link's checksum byte */
            sz_recording(true);
            CHECK(!mallet_check(z));
            CHECK(sz_last.kind == MALLET_ERR_CHECK_FAILED && strstr(sz_last.message, "Incorrect checksum"));
            sz_recording(false);
            ((unsigned char *)victim)[8] ^= 0x5a;
        }
        for (int i = 0; i < N; i += 2)
            b[i] = mallet_malloc(z, page);
        CHECK(mallet_check(z));
        for (int i = 0; i < N; i++)
            mallet_free(z, b[i]);
        mallet_free(z, pad);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }

    TEST_CASE("medium keeps clean and dirty per run: a dirty free next to a clean run stays a separate run")
    {
        mallet_zone_t *z = sz_zone("MallocMediumZone=1,max-magazines=1");
        const size_t Q = 32 * KiB;
        /* (32 KiB itself is still small) */
        void *first = mallet_malloc(z, 2 * Q);
        void *x = mallet_malloc(z, 48 * Q); /* 1.5 MiB = the minimum window */
        void *y = mallet_malloc(z, 2 * Q);
        void *w = mallet_malloc(z, 2 * Q);
        void *fence = mallet_malloc(z, 2 * Q);
        CHECK(!strcmp(sz_tier_name(z, x), "medium"));
        CHECK_MSG((char *)y == (char *)x + 48 * Q && (char *)w == (char *)y + 2 * Q, "%p %p %p %p %p", first, x, y, w, fence);
        memset(x, 1, 48 * Q);
        /* allocated: one dirty run each */
        CHECK_EQ(madv_word(x, 0), 48);
        CHECK_EQ(madv_word(x, 47), 48);
        free_uncached(z, x, 60 * Q); /* the dummy never fits in x's block */
        /* 48 dirty quanta >= window: advised; the entry's quantum stays dirty */
        CHECK_EQ(madv_word(x, 0), 1);
        CHECK_EQ(madv_word(x, 1), 47 | SZ_MADV_CLEAN);
        CHECK_EQ(madv_word(x, 47), 47 | SZ_MADV_CLEAN);
        free_uncached(z, y, 60 * Q); /* the dummy never fits in x's block */
        /* y coalesces with x's block but is one dirty run of its own */
        CHECK_EQ(madv_word(x, 47), 47 | SZ_MADV_CLEAN);
        CHECK_EQ(madv_word(y, 0), 2);
        CHECK_EQ(madv_word(y, 1), 2);
        free_uncached(z, w, 60 * Q); /* the dummy never fits in x's block */
        /* w joins the dirty run before it: one run of 4, the middle words 0 */
        CHECK_EQ(madv_word(y, 0), 4);
        CHECK_EQ(madv_word(y, 1), 0);
        CHECK_EQ(madv_word(y, 2), 0);
        CHECK_EQ(madv_word(y, 3), 4);
        CHECK_EQ(madv_word(x, 1), 47 | SZ_MADV_CLEAN);
        CHECK(mallet_check(z));
        /* Taking 10 quanta from the block's start splits the clean run. */
        void *t = mallet_malloc(z, 10 * Q);
        CHECK(t == x);
        CHECK_EQ(madv_word(x, 0), 10);
        CHECK_EQ(madv_word(x, 9), 10);
        CHECK_EQ(madv_word(x, 10), 38 | SZ_MADV_CLEAN);
        CHECK_EQ(madv_word(x, 47), 38 | SZ_MADV_CLEAN);
        CHECK(mallet_check(z));
        mallet_free(z, t);
        mallet_free(z, first);
        mallet_free(z, fence);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }

    TEST_CASE("medium runs stay consistent under random malloc/realloc/memalign/free (check() validates them)")
    {
        mallet_zone_t *z = sz_zone("MallocMediumZone=1,max-magazines=1");
        enum { SLOTS = 64 };
        void *slot[SLOTS] = {0};
        unsigned seed = 12345;
        bool ok = true;
        for (int op = 0; op < 3000 && ok; op++) {
            seed = seed * 1103515245u + 12345u;
            int i = (int)((seed >> 8) % SLOTS);
            size_t n = (size_t)(33 + (seed >> 16) % 1200) * KiB; /* 33 KiB .. 1.2 MiB */
            if (slot[i] == NULL) {
                slot[i] = (seed & 0x30000000) == 0 ? mallet_memalign(z, 64 * KiB, n) : mallet_malloc(z, n);
                if (slot[i])
                    memset(slot[i], 3, 64);
            } else if ((seed >> 28) & 1) {
                void *q = mallet_realloc(z, slot[i], n);
                if (q)
                    slot[i] = q;
            } else {
                mallet_free(z, slot[i]);
                slot[i] = NULL;
            }
            if (op % 100 == 99)
                ok = mallet_check(z);
        }
        CHECK(ok);
        for (int i = 0; i < SLOTS; i++)
            mallet_free(z, slot[i]);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }

    TEST_CASE("MallocGuardEdges=1 guards large blocks only; =all adds a postlude guard after each region")
    {
        char perms[5];
        mallet_zone_t *z = sz_zone("MallocGuardEdges=1");
        char *tiny = mallet_malloc(z, 64), *small = mallet_malloc(z, 4000);
        char *big = mallet_malloc(z, 200 * KiB);
        perms_at((uintptr_t)big - 1, perms);
        CHECK_MSG(!strcmp(perms, "---p"), "before large: '%s'", perms);
        perms_at((uintptr_t)big + 200 * KiB, perms);
        CHECK_MSG(!strcmp(perms, "---p"), "after large: '%s'", perms);
        perms_at((uintptr_t)sz_region_of(SZ_TINY, tiny) + SZ_TINY_REGION_SIZE, perms);
        CHECK_MSG(strcmp(perms, "---p") != 0, "guard after a tiny region without =all");
        mallet_free(z, big);
        mallet_free(z, tiny);
        mallet_free(z, small);
        mallet_zone_destroy(z);

        z = sz_zone("MallocGuardEdges=all,MallocMediumZone=1");
        tiny = mallet_malloc(z, 64);
        small = mallet_malloc(z, 4000);
        char *medium = mallet_malloc(z, 100 * KiB);
        big = mallet_malloc(z, 9 * MiB);
        const struct { char *p; sz_tier_t t; } regs[3] = {{tiny, SZ_TINY}, {small, SZ_SMALL}, {medium, SZ_MEDIUM}};
        for (int i = 0; i < 3; i++) {
            uintptr_t r = (uintptr_t)sz_region_of(regs[i].t, regs[i].p);
            perms_at(r + sz_tiers[regs[i].t].region_size, perms);
            CHECK_MSG(!strcmp(perms, "---p"), "after %s region: '%s'", sz_tiers[regs[i].t].name, perms);
            perms_at(r + sz_tiers[regs[i].t].region_size - 1, perms);
            CHECK_MSG(!strcmp(perms, "rw-p"), "%s region's last byte: '%s'", sz_tiers[regs[i].t].name, perms);
        }
        perms_at((uintptr_t)big - 1, perms);
        CHECK(!strcmp(perms, "---p"));
        /* the region's last quantum is usable: fill the tiny region up */
        for (int i = 0; i < 70000; i++) {
            char *p = mallet_malloc(z, 16);
            if (p)
                memset(p, 7, 16);
        }
        CHECK(mallet_check(z));
        mallet_free(z, big);
        mallet_zone_destroy(z); /* unmaps regions with their guards */
    }

    return test_summary();
}
