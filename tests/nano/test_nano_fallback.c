/*
 * test_nano_fallback.c — nano without its address range. When the
 * signature range cannot be reserved (another mapping sits there), a nano zone must still work, entirely through its
 * helper, and say so on stderr. The test takes every free part of the
 * range itself to force that, then checks the zone serves and destroys.
 */
#define _GNU_SOURCE
#include <string.h>

#include "libmalloc/nano/nano_internal.h"
#include "mallet/mallet.h"
#include "support/test.h"

typedef struct held { uintptr_t a; size_t n; } held_t;
static held_t held[4096];
static unsigned nheld;

/* Maps [a, a+n) wherever free, halving around existing mappings. */
static void block_range(uintptr_t a, size_t n)
{
    if (nheld == 4096)
        return;
    if (mallet_os_map_fixed((void *)a, n, MALLET_PROT_NONE)) {
        held[nheld++] = (held_t){a, n};
        return;
    }
    if (n <= NANOV2_REGION_SIZE / 2)
        return; /* too small for any nano window */
    block_range(a, n / 2);
    block_range(a + n / 2, n / 2);
}

int main(void)
{
    block_range(NANO_RANGE_BASE, NANO_RANGE_SIZE);
    printf("held %u pieces of the signature range\n", nheld);
    TEST_CASE("a nano zone without its range serves everything from the helper")
    {
        char err[256];
        for (int v = 0; v < 2; v++) {
            mallet_zone_t *z = mallet_zone_create("nano", v ? "MallocNanoZone=V1" : NULL, err, sizeof err);
            CHECK_MSG(z != NULL, "create_zone: %s", err);
            if (!z)
                continue;
            CHECK(((nano_zone_t *)z)->ops == NULL);
            void *p[300];
            for (int i = 0; i < 300; i++) {
                p[i] = mallet_malloc(z, (size_t)i);
                CHECK(p[i] != NULL && !nano_has_signature((uintptr_t)p[i]));
                memset(p[i], 1, (size_t)i);
            }
            for (int i = 0; i < 300; i++)
                mallet_free(z, p[i]);
            CHECK(mallet_check(z));
            mallet_zone_destroy(z);
        }
    }
    for (unsigned i = 0; i < nheld; i++)
        mallet_os_unmap((void *)held[i].a, held[i].n);
    TEST_CASE("with the range free again, nano is on")
    {
        char err[256];
        mallet_zone_t *z = mallet_zone_create("nano", NULL, err, sizeof err);
        CHECK(z != NULL);
        if (z) {
            void *p = mallet_malloc(z, 32);
            /* Every build has a usable range (TSan's is a different one). */
            CHECK(((nano_zone_t *)z)->ops != NULL && nano_has_signature((uintptr_t)p));
            mallet_free(z, p);
            mallet_zone_destroy(z);
        }
    }
    return test_summary();
}
