/*
 * conformance.c — the API conformance suite, run against one backend
 * (argv[1], an ID) or every backend usable here (no argument).
 *
 * Each check is about the zone API contract, not a backend's internals:
 * alignment, usable sizes, contents kept by realloc across every size
 * tier, calloc zeroing (also of recycled memory), errno rules for
 * impossible requests, no overlap between live blocks, and a few thousand
 * random operations checked against a shadow copy. Optional features are
 * checked only where the zone claims them (zone->caps).
 *
 * Exit status: 0 all passed, 1 a check failed, 77 the backend is known
 * but not usable here (ctest shows it as skipped, with the reason).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mallet/mallet.h"
#include "support/test.h"

#define MiB (1024u * 1024u)

/* Deterministic PRNG (splitmix64) so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A size from a tier mix: mostly small, sometimes up to `max`. */
static size_t random_size(size_t max)
{
    switch (rnd() % 8) {
    case 0: return rnd() % 17;
    case 1: case 2: case 3: return 1 + rnd() % 256;
    case 4: case 5: return 1 + rnd() % 2048;
    case 6: return 1 + rnd() % (64 * 1024);
    default: return 1 + rnd() % max;
    }
}

static void fill(void *p, size_t n, uint8_t seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 31);
}

static bool verify(const void *p, size_t n, uint8_t seed)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)(seed + i * 31))
            return false;
    return true;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void check_basics(mallet_zone_t *z)
{
    TEST_CASE("malloc(0) gives a unique freeable block")
    {
        void *a = mallet_malloc(z, 0), *b = mallet_malloc(z, 0);
        CHECK(a != NULL && b != NULL);
        CHECK(a != b);
        mallet_free(z, a);
        mallet_free(z, b);
    }
    TEST_CASE("free(NULL) is a no-op; realloc(NULL, n) allocates")
    {
        mallet_free(z, NULL);
        void *p = mallet_realloc(z, NULL, 100);
        CHECK(p != NULL);
        if (p)
            CHECK(mallet_size(z, p) >= 100);
        mallet_free(z, p);
    }
    TEST_CASE("every result is 16-byte aligned (8 for requests <= 8 B) and usable size >= request")
    {
        unsigned small_aligned8 = 0;
        static void *ptrs[3000];
        size_t sizes[3000];
        for (int i = 0; i < 3000; i++) {
            sizes[i] = (i < 2100) ? (size_t)i : random_size(4 * MiB);
            ptrs[i] = mallet_malloc(z, sizes[i]);
            CHECK_MSG(ptrs[i] != NULL, "malloc(%zu)", sizes[i]);
            if (!ptrs[i])
                continue;
            /* C11: a block must be aligned for any object that fits in it, so
             * requests of <= 8 bytes may be 8-aligned (mimalloc and tcmalloc
             * do this); everything larger must be 16-aligned. */
            size_t need = sizes[i] <= 8 ? 8 : 16;
            CHECK_MSG(((uintptr_t)ptrs[i] & (need - 1)) == 0, "malloc(%zu) = %p", sizes[i], ptrs[i]);
            if (((uintptr_t)ptrs[i] & 15) != 0)
                small_aligned8++;
            CHECK_MSG(mallet_size(z, ptrs[i]) >= sizes[i], "size(%p)=%zu < %zu", ptrs[i],
                      mallet_size(z, ptrs[i]), sizes[i]);
            CHECK(mallet_good_size(z, sizes[i]) >= sizes[i]);
            memset(ptrs[i], 0xA5, sizes[i]);
        }
        for (int i = 0; i < 3000; i++)
            mallet_free(z, ptrs[i]);
        if (small_aligned8)
            printf("note: %u requests of <= 8 B got 8-byte (not 16-byte) aligned blocks (allowed by C11)\n",
                   small_aligned8);
    }
    TEST_CASE("valloc is page aligned")
    {
        size_t sizes[] = {1, 100, 4096, 5000, 70000, 2 * MiB + 3};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            void *p = mallet_valloc(z, sizes[i]);
            CHECK_MSG(p && ((uintptr_t)p & 4095) == 0, "valloc(%zu) = %p", sizes[i], p);
            if (p)
                memset(p, 1, sizes[i]);
            mallet_free(z, p);
        }
    }
}

/* Known defects of peer libraries, reported loudly and counted as expected
 * failures only for exactly the version and cases named; any other
 * failure still fails, and a fixed version no longer matches. */
static unsigned known_defects;

/* mimalloc 2.0.9 (Debian 12): mi_malloc_aligned(n, a) with a >= 256 and n a
 * multiple of a up to 1 KiB takes the small-object path, which does not
 * honour the alignment.
 * Upstream microsoft/mimalloc#700, fixed after 2.0.9. */
static bool known_mimalloc_700(mallet_zone_t *z, size_t a, size_t n)
{
    return strcmp(z->backend->id, "mi") == 0 && strcmp(z->backend->version(), "mimalloc 2.0.9") == 0 &&
           a >= 256 && n % a == 0 && n <= 1024;
}

static bool aligned_or_known(mallet_zone_t *z, void *p, size_t a, size_t n)
{
    if (p && ((uintptr_t)p % a) != 0 && known_mimalloc_700(z, a, n)) {
        if (known_defects++ == 0)
            printf("KNOWN PEER DEFECT %s: memalign(%zu, %zu) = %p is misaligned "
                   "(microsoft/mimalloc#700, fixed after 2.0.9)\n", z->backend->version(), a, n, p);
        return true;
    }
    return p && ((uintptr_t)p % a) == 0;
}

static void check_alignment(mallet_zone_t *z)
{
    TEST_CASE("memalign / posix_memalign / aligned_alloc for every power of two up to 1 MiB")
    {
        for (size_t a = 8; a <= MiB; a *= 2) {
            size_t sizes[] = {1, a / 2 + 1, a, 3 * a + 5};
            for (size_t k = 0; k < 4; k++) {
                size_t n = sizes[k];
                void *p = mallet_memalign(z, a, n);
                CHECK_MSG(aligned_or_known(z, p, a, n), "memalign(%zu, %zu) = %p", a, n, p);
                if (p) {
                    CHECK(mallet_size(z, p) >= n);
                    memset(p, 0x5A, n);
                }
                void *q = NULL;
                int rc = mallet_posix_memalign(z, &q, a, n);
                CHECK_MSG(rc == 0 && aligned_or_known(z, q, a, n), "posix_memalign(%zu, %zu) rc %d", a, n, rc);
                if (q)
                    memset(q, 0x5A, n);
                size_t an = (n + a - 1) / a * a;
                void *r = mallet_aligned_alloc(z, a, an);
                CHECK_MSG(aligned_or_known(z, r, a, an), "aligned_alloc(%zu, %zu) = %p", a, an, r);
                mallet_free(z, p);
                mallet_free(z, q);
                mallet_free(z, r);
            }
        }
    }
    TEST_CASE("bad alignments give EINVAL")
    {
        size_t bad[] = {0, 1, 3, 4, 24, 100, (SIZE_MAX >> 1) + 3};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            errno = 0;
            CHECK(mallet_memalign(z, bad[i], 64) == NULL);
            CHECK_EQ(errno, EINVAL);
            void *q = (void *)0x1;
            CHECK_EQ(mallet_posix_memalign(z, &q, bad[i], 64), EINVAL);
            CHECK(q == (void *)0x1);
        }
        errno = 0;
        CHECK(mallet_aligned_alloc(z, 64, 100) == NULL); /* 100 % 64 != 0 */
        CHECK_EQ(errno, EINVAL);
    }
}

static void check_impossible(mallet_zone_t *z)
{
    TEST_CASE("impossible sizes give NULL with ENOMEM and lose nothing")
    {
        void *keep = mallet_malloc(z, 64);
        CHECK(keep != NULL);
        if (!keep)
            return;
        fill(keep, 64, 7);
        size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2 + 1, mallet_max_request() + 1};
        for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
            errno = 0;
            CHECK_MSG(mallet_malloc(z, huge[i]) == NULL, "malloc(%zu)", huge[i]);
            CHECK_EQ(errno, ENOMEM);
            errno = 0;
            CHECK(mallet_valloc(z, huge[i]) == NULL);
            CHECK_EQ(errno, ENOMEM);
            errno = 0;
            CHECK(mallet_memalign(z, 64, huge[i]) == NULL);
            CHECK_EQ(errno, ENOMEM);
            errno = 0;
            CHECK(mallet_realloc(z, keep, huge[i]) == NULL);
            CHECK_EQ(errno, ENOMEM);
            CHECK(verify(keep, 64, 7));
        }
        errno = 0;
        CHECK(mallet_calloc(z, SIZE_MAX / 2, 3) == NULL);
        CHECK_EQ(errno, ENOMEM);
        errno = 0;
        CHECK(mallet_calloc(z, (size_t)1 << 33, (size_t)1 << 33) == NULL);
        CHECK_EQ(errno, ENOMEM);
        void *q = (void *)0x1;
        CHECK_EQ(mallet_posix_memalign(z, &q, 64, SIZE_MAX), ENOMEM);
        CHECK(verify(keep, 64, 7));
        mallet_free(z, keep);
    }
}

static void check_realloc_tiers(mallet_zone_t *z)
{
    TEST_CASE("realloc keeps contents growing and shrinking across every tier (16 B .. 64 MiB)")
    {
        size_t steps[] = {16, 24, 100, 256, 257, 1000, 1008, 1009, 4096, 15000, 32768, 32769,
                          200000, 1 * MiB, 8 * MiB, 8 * MiB + 1, 64 * MiB};
        size_t nsteps = sizeof steps / sizeof *steps;
        void *p = mallet_malloc(z, steps[0]);
        CHECK(p != NULL);
        size_t have = steps[0];
        fill(p, have, 42);
        for (size_t i = 1; p && i < nsteps; i++) { /* grow */
            void *q = mallet_realloc(z, p, steps[i]);
            CHECK_MSG(q != NULL, "realloc to %zu", steps[i]);
            if (!q)
                break;
            CHECK_MSG(verify(q, have, 42), "contents lost growing %zu -> %zu", have, steps[i]);
            p = q;
            have = steps[i];
            fill(p, have, 42);
        }
        for (size_t i = nsteps - 1; p && i-- > 0;) { /* shrink */
            void *q = mallet_realloc(z, p, steps[i]);
            CHECK_MSG(q != NULL, "realloc to %zu", steps[i]);
            if (!q)
                break;
            CHECK_MSG(verify(q, steps[i], 42), "contents lost shrinking to %zu", steps[i]);
            CHECK(mallet_size(z, q) >= steps[i]);
            p = q;
        }
        mallet_free(z, p);
    }
}

static void check_calloc(mallet_zone_t *z)
{
    TEST_CASE("calloc zeroes, including recycled memory")
    {
        size_t sizes[] = {1, 16, 48, 200, 256, 600, 1008, 2000, 20000, 100000, 2 * MiB, 9 * MiB};
        enum { N = sizeof sizes / sizeof *sizes, R = 8 };
        void *ptrs[N][R];
        for (int round = 0; round < 3; round++) {
            for (size_t i = 0; i < N; i++)
                for (int r = 0; r < R; r++) {
                    ptrs[i][r] = mallet_calloc(z, 1, sizes[i]);
                    CHECK_MSG(ptrs[i][r] && all_zero(ptrs[i][r], sizes[i]),
                              "calloc(1, %zu) round %d not zero", sizes[i], round);
                }
            for (size_t i = 0; i < N; i++)
                for (int r = 0; r < R; r++) {
                    if (ptrs[i][r])
                        memset(ptrs[i][r], 0xFF, mallet_size(z, ptrs[i][r]) ? mallet_size(z, ptrs[i][r]) : sizes[i]);
                    mallet_free(z, ptrs[i][r]);
                }
        }
        void *p = mallet_calloc(z, 1000, 24);
        CHECK(p && all_zero(p, 24000));
        mallet_free(z, p);
    }
}

/* Live blocks sorted by address must not overlap. */
static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void check_overlap(mallet_zone_t *z)
{
    TEST_CASE("no two live blocks overlap")
    {
        enum { N = 4000 };
        static uintptr_t addr[N][2];
        static void *ptrs[N];
        int live = 0;
        for (int i = 0; i < N; i++) {
            size_t n = random_size(1 * MiB);
            ptrs[i] = mallet_malloc(z, n);
            if (!ptrs[i])
                continue;
            size_t u = mallet_size(z, ptrs[i]);
            addr[live][0] = (uintptr_t)ptrs[i];
            addr[live][1] = (uintptr_t)ptrs[i] + (u > n ? u : n);
            live++;
            if (i % 3 == 2) { /* churn so that reuse happens */
                int k = (int)(rnd() % (unsigned)i);
                if (ptrs[k]) {
                    for (int j = 0; j < live; j++)
                        if (addr[j][0] == (uintptr_t)ptrs[k]) {
                            addr[j][0] = addr[--live][0];
                            addr[j][1] = addr[live][1];
                            break;
                        }
                    mallet_free(z, ptrs[k]);
                    ptrs[k] = NULL;
                }
            }
        }
        qsort(addr, (size_t)live, sizeof addr[0], cmp_ptr);
        for (int j = 1; j < live; j++)
            CHECK_MSG(addr[j - 1][1] <= addr[j][0], "blocks %#lx..%#lx and %#lx overlap",
                      (unsigned long)addr[j - 1][0], (unsigned long)addr[j - 1][1],
                      (unsigned long)addr[j][0]);
        for (int i = 0; i < N; i++)
            mallet_free(z, ptrs[i]);
    }
}

/* Random operations against a shadow: every block carries a seed-derived
 * pattern that must survive until its free. */
typedef struct slot { uint8_t *p; size_t n; uint8_t seed; } slot_t;

static void check_random_ops(mallet_zone_t *z, int ops)
{
    TEST_CASE("random operations keep every block's contents (shadow model)")
    {
        enum { SLOTS = 512 };
        static slot_t s[SLOTS];
        memset(s, 0, sizeof s);
        for (int i = 0; i < ops; i++) {
            slot_t *x = &s[rnd() % SLOTS];
            unsigned op = (unsigned)(rnd() % 10);
            if (x->p && !verify(x->p, x->n, x->seed)) {
                CHECK_MSG(false, "op %d: block %p (%zu B) was modified", i, (void *)x->p, x->n);
                x->p = NULL;
                continue;
            }
            if (x->p && op < 4) {
                if (op == 0)
                    mallet_free_definite_size(z, x->p, x->n);
                else
                    mallet_free(z, x->p);
                x->p = NULL;
            } else if (x->p && op < 7) {
                size_t n = random_size(2 * MiB);
                uint8_t *q = mallet_realloc(z, x->p, n);
                if (q == NULL && n) {
                    CHECK_MSG(false, "realloc(%zu) failed", n);
                    continue;
                }
                size_t keep = n < x->n ? n : x->n;
                CHECK_MSG(verify(q, keep, x->seed), "realloc %zu -> %zu lost data", x->n, n);
                x->p = q;
                x->n = n;
                if (n == 0) { /* glibc-style realloc(p, 0) may free and return NULL */
                    if (q)
                        mallet_free(z, q);
                    x->p = NULL;
                    continue;
                }
                x->seed = (uint8_t)rnd();
                fill(q, n, x->seed);
            } else if (!x->p) {
                size_t n = random_size(2 * MiB);
                if (op == 7) {
                    x->p = mallet_calloc(z, 1, n);
                    CHECK(x->p == NULL || all_zero(x->p, n));
                } else if (op == 8) {
                    x->p = mallet_memalign(z, (size_t)16 << (rnd() % 8), n);
                } else {
                    x->p = mallet_malloc(z, n);
                }
                CHECK_MSG(x->p != NULL, "allocation of %zu failed", n);
                x->n = n;
                x->seed = (uint8_t)rnd();
                if (x->p)
                    fill(x->p, n, x->seed);
            }
        }
        for (int k = 0; k < SLOTS; k++) {
            if (s[k].p) {
                CHECK(verify(s[k].p, s[k].n, s[k].seed));
                mallet_free(z, s[k].p);
            }
            s[k].p = NULL;
        }
        if (z->caps & MALLET_CAP_CHECK)
            CHECK(mallet_check(z));
    }
}

static void check_batch(mallet_zone_t *z)
{
    TEST_CASE("batch_malloc / batch_free")
    {
        void *ptrs[64];
        unsigned got = mallet_batch_malloc(z, 48, ptrs, 64);
        if (z->caps & MALLET_CAP_BATCH)
            CHECK(got > 0);
        for (unsigned i = 0; i < got; i++) {
            CHECK(ptrs[i] && mallet_size(z, ptrs[i]) >= 48);
            memset(ptrs[i], (int)i, 48);
        }
        mallet_batch_free(z, ptrs, got);
    }
}

static void check_introspection(mallet_zone_t *z)
{
    if (z->caps & MALLET_CAP_STATISTICS)
        TEST_CASE("statistics count live blocks and bytes")
        {
            mallet_zone_stats_t a, b;
            mallet_statistics(z, &a);
            void *p[100];
            for (int i = 0; i < 100; i++)
                p[i] = mallet_malloc(z, 100);
            mallet_statistics(z, &b);
            CHECK_MSG(b.blocks_in_use >= a.blocks_in_use + 100, "blocks %zu -> %zu", a.blocks_in_use,
                      b.blocks_in_use);
            CHECK(b.size_in_use >= a.size_in_use + 100 * 100);
            CHECK(b.size_allocated >= b.size_in_use);
            for (int i = 0; i < 100; i++)
                mallet_free(z, p[i]);
            mallet_statistics(z, &b);
            CHECK_MSG(b.blocks_in_use == a.blocks_in_use, "blocks %zu after freeing, was %zu",
                      b.blocks_in_use, a.blocks_in_use);
        }
    if (z->caps & MALLET_CAP_CHECK)
        TEST_CASE("check() passes on a healthy heap")
        {
            void *p = mallet_malloc(z, 40);
            CHECK(mallet_check(z));
            mallet_free(z, p);
            CHECK(mallet_check(z));
        }
    TEST_CASE("claimed_address is true for the zone's own blocks")
    {
        void *p = mallet_malloc(z, 200), *q = mallet_malloc(z, 300000);
        CHECK(mallet_claimed_address(z, p));
        CHECK(mallet_claimed_address(z, q));
        mallet_free(z, p);
        mallet_free(z, q);
    }
}

static void check_instances(const mallet_backend_t *b)
{
    if (!(b->caps & MALLET_CAP_INSTANCES))
        return;
    TEST_CASE("independent instances: own memory, destroy releases it")
    {
        char err[256];
        mallet_zone_t *z1 = b->create_zone(NULL, err, sizeof err);
        mallet_zone_t *z2 = b->create_zone(NULL, err, sizeof err);
        CHECK_MSG(z1 && z2 && z1 != z2, "create_zone: %s", err);
        if (!z1 || !z2)
            return;
        void *p = mallet_malloc(z1, 100), *q = mallet_malloc(z2, 100);
        CHECK(p && q && p != q);
        if (z1->caps & MALLET_CAP_OWNERSHIP) {
            CHECK(mallet_size(z1, p) >= 100);
            CHECK_EQ(mallet_size(z2, p), 0);
            CHECK_EQ(mallet_size(z1, q), 0);
        }
        for (int i = 0; i < 1000; i++)
            (void)mallet_malloc(z1, (size_t)(16 + i * 8)); /* leak on purpose: destroy frees */
        mallet_zone_destroy(z1);
        memset(q, 3, 100);
        mallet_free(z2, q);
        mallet_zone_destroy(z2);
    }
}

/* Cross-thread frees: blocks allocated by one thread, freed by another. */
typedef struct xthread { mallet_zone_t *z; void **ring; int n; int id; int errors; } xthread_t;

static void *xthread_main(void *arg)
{
    xthread_t *t = arg;
    uint64_t x = 0x1234567 + (uint64_t)t->id;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((x >> 33) % (uint64_t)t->n);
        void *fresh = mallet_malloc(t->z, 16 + (size_t)((x >> 20) % 3000));
        if (!fresh) {
            t->errors++;
            continue;
        }
        void *old = __atomic_exchange_n(&t->ring[k], fresh, __ATOMIC_ACQ_REL);
        mallet_free(t->z, old);
    }
    return NULL;
}

static void check_threads(mallet_zone_t *z)
{
    if (!(z->caps & MALLET_CAP_THREAD_SAFE))
        return;
    TEST_CASE("four threads allocate and free each other's blocks")
    {
        enum { T = 4, RING = 256 };
        static void *ring[RING];
        memset(ring, 0, sizeof ring);
        pthread_t th[T];
        xthread_t args[T];
        for (int i = 0; i < T; i++) {
            args[i] = (xthread_t){z, ring, RING, i, 0};
            pthread_create(&th[i], NULL, xthread_main, &args[i]);
        }
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            CHECK_EQ(args[i].errors, 0);
        }
        for (int i = 0; i < RING; i++)
            mallet_free(z, ring[i]);
        if (z->caps & MALLET_CAP_CHECK)
            CHECK(mallet_check(z));
    }
}

static int run_backend(const char *id)
{
    const mallet_backend_t *b = mallet_backend_find(id);
    if (!b) {
        printf("SKIP %s: %s\n", id, mallet_backend_id_is_known(id) ? "not built into this build" : "unknown backend");
        return mallet_backend_id_is_known(id) ? 77 : 2;
    }
    char why[256] = "", err[256] = "";
    if (b->available(why, sizeof why) != 0) {
        printf("SKIP %s: %s\n", id, why);
        return 77;
    }
    mallet_zone_t *z = b->create_zone(NULL, err, sizeof err);
    if (!z) {
        fprintf(stderr, "FAIL %s: create_zone: %s\n", id, err);
        return 1;
    }
    printf("== conformance: %s (%s)\n", id, b->version());
    unsigned long errors_before = mallet_error_count();
    check_basics(z);
    check_alignment(z);
    check_impossible(z);
    check_realloc_tiers(z);
    check_calloc(z);
    check_overlap(z);
    check_random_ops(z, 6000);
    check_batch(z);
    check_introspection(z);
    check_threads(z);
    check_instances(b);
    TEST_CASE("no error reports during correct use")
    {
        CHECK_EQ(mallet_error_count(), errors_before);
    }
    if (b->caps & MALLET_CAP_INSTANCES)
        mallet_zone_destroy(z);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        int rc = run_backend(argv[1]);
        if (rc != 0)
            return rc;
    } else {
        for (size_t i = 0; i < mallet_backend_count(); i++) {
            const mallet_backend_t *b = mallet_backend_at(i);
            char why[256];
            if (b->available(why, sizeof why) != 0) {
                printf("SKIP %s: %s\n", b->id, why);
                continue;
            }
            run_backend(b->id);
        }
    }
    if (known_defects)
        printf("%u results matched a known peer defect (see KNOWN PEER DEFECT above)\n", known_defects);
    return test_summary();
}
