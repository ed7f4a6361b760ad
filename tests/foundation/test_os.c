/*
 * test_os.c — the platform layer keeps its contract: aligned and fixed
 * mappings, no clobbering with MAP_FIXED_NOREPLACE, decommit semantics,
 * counters, failure injection, machine facts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "os/os.h"
#include "support/test.h"

int main(void)
{
    size_t page = mallet_os_page_size();
    TEST_CASE("machine facts are sane")
    {
        CHECK(page >= 4096 && (page & (page - 1)) == 0);
        CHECK(mallet_os_cpu_count() >= 1);
        CHECK(mallet_os_physical_cpu_count() >= 1);
        CHECK(mallet_os_physical_cpu_count() <= mallet_os_cpu_count());
        CHECK(mallet_os_physical_memory() >= (64ull << 20));
        CHECK(mallet_os_current_cpu() < 4096);
        CHECK(mallet_os_rss() > 0);
    }
    TEST_CASE("aligned mappings are aligned, writable and counted")
    {
        mallet_os_counters_t before, after;
        mallet_os_get_counters(&before);
        size_t aligns[] = {page, 64 * 1024, 1 << 20, 64 << 20};
        for (size_t i = 0; i < 4; i++) {
            char *p = mallet_os_map_aligned(2 << 20, aligns[i], MALLET_PROT_RW);
            CHECK(p != NULL && ((uintptr_t)p & (aligns[i] - 1)) == 0);
            if (p) {
                p[0] = 1;
                p[(2 << 20) - 1] = 2;
                CHECK_EQ(mallet_os_unmap(p, 2 << 20), 0);
            }
        }
        mallet_os_get_counters(&after);
        CHECK_EQ(after.maps - before.maps, 4);
        CHECK_EQ(after.unmaps - before.unmaps, 4);
        CHECK_EQ(after.bytes_mapped, before.bytes_mapped);
    }
#ifdef __SANITIZE_THREAD__
    TEST_CASE("under TSan, fixed mappings outside its application ranges are refused")
    {
        /* 0x6000_0000_0000 is TSan's own (x86-64 Linux); 0x5500_0000_0000
         * is application memory, where nano's TSan build lives. */
        errno = 0;
        CHECK(mallet_os_map_fixed((void *)0x600000000000ull, page, MALLET_PROT_RW) == NULL);
        CHECK_EQ(errno, ENOTSUP);
        errno = 0;
        CHECK(mallet_os_map_fixed((void *)(0x568000000000ull - page), 2 * page, MALLET_PROT_RW) == NULL);
        CHECK_EQ(errno, ENOTSUP);
        char *q = mallet_os_map_fixed((void *)0x553f00000000ull, page, MALLET_PROT_RW);
        CHECK(q == (char *)0x553f00000000ull);
        if (q) {
            q[0] = 1;
            mallet_os_unmap(q, page);
        }
    }
#endif
    TEST_CASE("fixed mappings never replace an existing mapping")
    {
        char *p = mallet_os_map(NULL, 4 * page, MALLET_PROT_RW);
        CHECK(p != NULL);
        p[0] = 'x';
        errno = 0;
        CHECK(mallet_os_map_fixed(p + page, page, MALLET_PROT_RW) == NULL);
        CHECK_EQ(errno, EEXIST);
        CHECK_EQ(p[0], 'x');
        mallet_os_unmap(p, 4 * page);
        char *q = mallet_os_map_fixed(p, page, MALLET_PROT_RW); /* now free again */
        CHECK(q == p);
        if (q)
            mallet_os_unmap(q, page);
    }
    TEST_CASE("eager decommit gives zero pages back")
    {
        char *p = mallet_os_map(NULL, 4 * page, MALLET_PROT_RW);
        memset(p, 0x77, 4 * page);
        CHECK_EQ(mallet_os_decommit(p, 4 * page, MALLET_DECOMMIT_EAGER), 0);
        CHECK(p[0] == 0 && p[4 * page - 1] == 0);
        CHECK_EQ(mallet_os_decommit(p, 4 * page, MALLET_DECOMMIT_LAZY), 0);
        mallet_os_unmap(p, 4 * page);
    }
    TEST_CASE("protect makes pages inaccessible and back")
    {
        char *p = mallet_os_map(NULL, page, MALLET_PROT_NONE);
        CHECK(p != NULL);
        CHECK_EQ(mallet_os_protect(p, page, MALLET_PROT_RW), 0);
        p[1] = 1;
        mallet_os_unmap(p, page);
    }
    TEST_CASE("failure injection fails maps after the countdown, then recovers")
    {
        mallet_os_inject_map_failures(1);
        void *a = mallet_os_map(NULL, page, MALLET_PROT_RW);
        errno = 0;
        void *b = mallet_os_map(NULL, page, MALLET_PROT_RW);
        int e = errno;
        mallet_os_inject_map_failures(-1);
        void *c = mallet_os_map(NULL, page, MALLET_PROT_RW);
        CHECK(a != NULL);
        CHECK(b == NULL && e == ENOMEM);
        CHECK(c != NULL);
        mallet_os_unmap(a, page);
        mallet_os_unmap(c, page);
    }
    TEST_CASE("remap grows a mapping keeping its contents")
    {
        char *p = mallet_os_map(NULL, page, MALLET_PROT_RW);
        p[10] = 42;
        char *q = mallet_os_remap(p, page, 8 * page, true);
        CHECK(q != NULL && q[10] == 42);
        if (q)
            mallet_os_unmap(q, 8 * page);
    }
    TEST_CASE("entropy differs between calls; env lookup works")
    {
        CHECK(mallet_os_random64() != mallet_os_random64());
        setenv("MALLET_TEST_VAR", "hello", 1);
        const char *v = mallet_os_getenv("MALLET_TEST_VAR", false);
        CHECK(v && strcmp(v, "hello") == 0);
        CHECK(mallet_os_getenv("MALLET_TEST_VA", false) == NULL);
    }
    return test_summary();
}
