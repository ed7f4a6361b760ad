/*
 * test_nano.c — the nano backend (libmalloc's default zone): layout,
 * fall-through to the helper, v1 and v2 both, misuse reports with
 * libmalloc's messages, instances, destroy, fork, threads, pressure relief.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmalloc/nano/nano_internal.h"
#include "mallet/mallet.h"
#include "support/test.h"

static const char *const versions[2] = {"MallocNanoZone=V1", "MallocNanoZone=V2"};

static mallet_error_report_t last;
static int reports;
static void record(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    last = *r;
    reports++;
}

static mallet_zone_t *make(const char *opts)
{
    char err[256] = "";
    mallet_zone_t *z = mallet_zone_create("nano", opts, err, sizeof err);
    if (!z)
        fprintf(stderr, "create_zone(%s): %s\n", opts, err);
    return z;
}

static bool is_nano(const void *p)
{
    return p && nano_has_signature((uintptr_t)p);
}

/* Per-CPU magazines and allocation blocks: a LIFO reuse test must not
 * migrate between its free and its malloc. */
static void pin_cpu0(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void test_slot_index(void)
{
    TEST_CASE("nano_slot_index divides exactly for every offset of a v1 area")
    {
        unsigned bad = 0;
        for (unsigned cls = 0; cls < NANO_CLASSES; cls++)
            for (uint64_t off = 0; off < NANOV1_SLOT_AREA_SIZE; off += NANO_QUANTUM)
                bad += nano_slot_index(off, cls) != off / nano_class_bytes(cls);
        CHECK_EQ(bad, 0);
        /* A misaligned offset rounds down; callers multiply back and refuse it. */
        CHECK(nano_slot_index(48 + 8, 2) * nano_class_bytes(2) != 48 + 8);
    }
}

static void test_layout_and_fallthrough(const char *opts)
{
    TEST_CASE(opts)
    {
        mallet_zone_t *z = make(opts);
        CHECK(z != NULL);
        if (!z)
            break;
        nano_zone_t *nz = (nano_zone_t *)z;
        CHECK(nz->ops == (strstr(opts, "V1") ? &nano_v1_ops : &nano_v2_ops));
        for (size_t n = 0; n <= 256; n++) {
            void *p = mallet_malloc(z, n);
            CHECK_MSG(is_nano(p), "malloc(%zu) = %p is not in the nano range", n, p);
            CHECK_MSG(mallet_size(z, p) == (n <= 16 ? 16 : (n + 15) / 16 * 16), "size(malloc(%zu)) = %zu", n,
                      mallet_size(z, p));
            CHECK(((uintptr_t)p & 15) == 0);
            memset(p, 0xAB, n);
            mallet_free(z, p);
        }
        void *big = mallet_malloc(z, 257);
        CHECK_MSG(big && !is_nano(big), "malloc(257) = %p should come from the helper", big);
        CHECK(mallet_size(z, big) >= 257);
        mallet_free(z, big);
        void *v = mallet_valloc(z, 32);
        CHECK(v && !is_nano(v) && ((uintptr_t)v & 4095) == 0);
        mallet_free(z, v);
        void *a = mallet_memalign(z, 64, 32);
        CHECK(a && !is_nano(a) && ((uintptr_t)a & 63) == 0);
        mallet_free(z, a);
        void *c = mallet_calloc(z, 10, 20);
        CHECK(is_nano(c) && c && ((char *)c)[199] == 0);
        c = mallet_realloc(z, c, 1000); /* grows out of nano */
        CHECK(c && !is_nano(c));
        c = mallet_realloc(z, c, 100);
        CHECK(c != NULL);
        mallet_free(z, c);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
}

static void test_double_free(const char *opts)
{
    TEST_CASE("double free is reported as libmalloc does")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *keep = mallet_malloc(z, 32), *p = mallet_malloc(z, 32);
        mallet_free(z, p);
        reports = 0;
        mallet_error_set_handler(record, NULL);
        mallet_free(z, p);
        mallet_error_set_handler(NULL, NULL);
        CHECK_EQ(reports, 1);
        /* The helper's text, as in libmalloc (szone's large-free path). Which
         * of its two texts depends on whether p is page aligned; nano's block
         * placement is randomized, so 1 run in 128 or so lands p on a page
         * boundary (a CI run did). */
        const char *want = ((uintptr_t)p & (mallet_os_page_size() - 1))
                               ? "non-page-aligned, non-allocated pointer"
                               : "was not allocated";
        CHECK_MSG(strstr(last.message, want) != NULL && strstr(last.message, "being freed") != NULL,
                  "message: %s (want \"%s\")", last.message, want);
        CHECK(last.ptr == p);
        CHECK(last.style == MALLET_STYLE_LIBMALLOC);
        mallet_free(z, keep);
        mallet_zone_destroy(z);
    }
}

static void test_use_after_free(const char *opts, const char *want)
{
    TEST_CASE("a write to a freed block's guard is caught by the next allocation")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *keep = mallet_malloc(z, 48), *p = mallet_malloc(z, 48);
        CHECK(is_nano(p));
        mallet_free(z, p);
        memset(p, 0x41, 16); /* clobber guard and link */
        reports = 0;
        mallet_error_set_handler(record, NULL);
        void *q = mallet_malloc(z, 48);
        mallet_error_set_handler(NULL, NULL);
        CHECK_EQ(reports, 1);
        CHECK(q == NULL);
        CHECK_MSG(strstr(last.message, want) != NULL, "message: %s", last.message);
        CHECK(last.kind == MALLET_ERR_FREELIST_CORRUPTION && last.is_corruption);
        (void)keep;
        mallet_zone_destroy(z); /* poisoned, but destroy must work */
    }
}

static void test_misdeclared(const char *opts)
{
    TEST_CASE("free_definite_size with a wrong size")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *p = mallet_malloc(z, 32);
        reports = 0;
        mallet_error_set_handler(record, NULL);
        mallet_free_definite_size(z, p, 200);
        mallet_error_set_handler(NULL, NULL);
        CHECK_EQ(reports, 1);
        CHECK(strstr(last.message, "Freeing pointer") && strstr(last.message, "whose size was misdeclared"));
        mallet_free_definite_size(z, p, 30); /* right size: fine */
        CHECK_EQ(reports, 1);
        mallet_zone_destroy(z);
    }
}

static void test_check_finds_damage(const char *opts)
{
    TEST_CASE("check() finds a damaged free block")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *keep = mallet_malloc(z, 64), *p = mallet_malloc(z, 64);
        mallet_free(z, p);
        CHECK(mallet_check(z));
        ((uint64_t *)p)[0] ^= 1;
        reports = 0;
        mallet_error_set_handler(record, NULL);
        CHECK(!mallet_check(z));
        mallet_error_set_handler(NULL, NULL);
        CHECK(reports >= 1);
        (void)keep;
        mallet_zone_destroy(z);
    }
}

static void test_foreign_and_instances(void)
{
    TEST_CASE("foreign pointers go to the helper; two zones get distinct windows")
    {
        mallet_zone_t *z1 = make(NULL), *z2 = make(NULL);
        CHECK(z1 && z2);
        if (!z1 || !z2)
            break;
        nano_zone_t *n1 = (nano_zone_t *)z1, *n2 = (nano_zone_t *)z2;
        CHECK(n1->base != n2->base);
        CHECK(n1->base + n1->window <= n2->base || n2->base + n2->window <= n1->base);
        void *p1 = mallet_malloc(z1, 100), *p2 = mallet_malloc(z2, 100);
        CHECK(is_nano(p1) && is_nano(p2) && p1 != p2);
        CHECK(mallet_claimed_address(z1, p1));
        CHECK(mallet_claimed_address(z1, (char *)p1 + 5)); /* interior is claimed */
        if (z1->caps & MALLET_CAP_OWNERSHIP) {
            CHECK_EQ(mallet_size(z1, p2), 0);
            CHECK_EQ(mallet_size(z2, p1), 0);
        }
        /* A block the helper handed out directly: nano forwards it. */
        mallet_zone_t *h = n1->helper;
        void *f = h->malloc(h, 40);
        unsigned long before = mallet_error_count();
        CHECK(mallet_size(z1, f) >= 40);
        CHECK(mallet_claimed_address(z1, f));
        f = mallet_realloc(z1, f, 80);
        CHECK(f && !is_nano(f));
        mallet_free(z1, f);
        CHECK_EQ(mallet_error_count(), before);
        mallet_free(z1, p1);
        mallet_free(z2, p2);
        CHECK(mallet_check(z1) && mallet_check(z2));
        mallet_zone_destroy(z1);
        mallet_zone_destroy(z2);
    }
}

static void test_destroy_releases(const char *opts)
{
    TEST_CASE("destroy unmaps the window and the helper")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        nano_zone_t *nz = (nano_zone_t *)z;
        uintptr_t base = nz->base;
        size_t window = nz->window;
        for (int i = 0; i < 100000; i++)
            memset(mallet_malloc(z, (size_t)(i % 256)), 1, (size_t)(i % 256)); /* leaked on purpose */
        void *big = mallet_malloc(z, 100000);
        CHECK(big != NULL);
        mallet_zone_destroy(z);
        /* The whole window is free again: a no-replace mapping succeeds. */
        void *again = mallet_os_map_fixed((void *)base, window, MALLET_PROT_NONE);
        CHECK(again == (void *)base);
        if (again)
            mallet_os_unmap(again, window);
    }
}

static void test_fork(const char *opts)
{
    TEST_CASE("the fork child allocates (from the helper) and frees")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *before = mallet_malloc(z, 32);
        z->introspect->force_lock(z);
        pid_t pid = fork();
        if (pid == 0) {
            z->introspect->reinit_lock(z);
            int bad = 0;
            for (int i = 0; i < 1000; i++) {
                void *p = mallet_malloc(z, (size_t)(i % 300));
                if (!p || is_nano(p))
                    bad++;
                mallet_free(z, p);
            }
            void *r = mallet_realloc(z, before, 64); /* nano block, copied out */
            bad += r == NULL || is_nano(r);
            mallet_free(z, r);
            _exit(bad ? 1 : 0);
        }
        z->introspect->force_unlock(z);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        void *p = mallet_malloc(z, 32);
        CHECK(is_nano(p));
        mallet_free(z, p);
        mallet_free(z, before);
        mallet_zone_destroy(z);
    }
}

/* Threads allocate small blocks and free each other's through a ring. */
typedef struct xt { mallet_zone_t *z; void **ring; int id; int bad; } xt_t;
enum { RING = 512, ITER = 200000 };

static void *xt_main(void *arg)
{
    xt_t *t = arg;
    uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(t->id + 1);
    for (int i = 0; i < ITER; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 1 + x % 256;
        unsigned char *p = mallet_malloc(t->z, n);
        if (!p) {
            t->bad++;
            continue;
        }
        p[0] = (unsigned char)n, p[n - 1] = (unsigned char)n;
        unsigned char *old = __atomic_exchange_n(&t->ring[(x >> 20) % RING], p, __ATOMIC_ACQ_REL);
        if (old) {
            size_t m = mallet_size(t->z, old);
            if (m == 0 || old[0] > m)
                t->bad++;
            mallet_free(t->z, old);
        }
    }
    return NULL;
}

static void test_threads(const char *opts)
{
    TEST_CASE("four threads, cross-thread frees, then check()")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        static void *ring[RING];
        memset(ring, 0, sizeof ring);
        pthread_t th[4];
        xt_t args[4];
        for (int i = 0; i < 4; i++) {
            args[i] = (xt_t){z, ring, i, 0};
            pthread_create(&th[i], NULL, xt_main, &args[i]);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            CHECK_EQ(args[i].bad, 0);
        }
        CHECK(mallet_check(z));
        mallet_zone_stats_t s;
        mallet_statistics(z, &s);
        size_t live = 0;
        for (int i = 0; i < RING; i++)
            live += ring[i] != NULL;
        CHECK_MSG(s.blocks_in_use >= live, "stats %zu blocks, %zu live in the ring", s.blocks_in_use, live);
        for (int i = 0; i < RING; i++)
            mallet_free(z, ring[i]);
        CHECK(mallet_check(z));
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 0);
        mallet_zone_destroy(z);
    }
}

static void test_pressure_relief(const char *opts)
{
    TEST_CASE("pressure_relief gives free nano pages back (RSS drops)")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        enum { N = 200000 };
        static void *p[N];
        for (int i = 0; i < N; i++) {
            p[i] = mallet_malloc(z, 64);
            memset(p[i], 7, 64);
        }
        for (int i = 0; i < N; i++)
            mallet_free(z, p[i]);
        size_t rss0 = mallet_os_rss();
        size_t got = mallet_pressure_relief(z, 0);
        size_t rss1 = mallet_os_rss();
        CHECK_MSG(got >= (size_t)N * 64 / 2, "pressure_relief returned %zu", got);
        CHECK_MSG(rss1 + (size_t)N * 64 / 2 <= rss0, "RSS %zu -> %zu", rss0, rss1);
        CHECK(mallet_check(z));
        void *q = mallet_malloc(z, 64); /* still works afterwards */
        CHECK(is_nano(q));
        mallet_free(z, q);
        mallet_zone_destroy(z);
    }
}

static void test_options(void)
{
    TEST_CASE("MallocNanoZone selects v1, v2 or off; bad values are refused")
    {
        char err[256];
        mallet_zone_t *z = make("MallocNanoZone=0");
        CHECK(z && ((nano_zone_t *)z)->ops == NULL);
        if (z) {
            void *p = mallet_malloc(z, 32);
            CHECK(p && !is_nano(p));
            mallet_free(z, p);
            mallet_zone_destroy(z);
        }
        z = make("MallocNanoZone=1");
        CHECK(z && ((nano_zone_t *)z)->ops == &nano_v2_ops);
        if (z)
            mallet_zone_destroy(z);
        z = make("nano.zone=v1:helper=sys");
        CHECK(z && ((nano_zone_t *)z)->ops == &nano_v1_ops);
        if (z)
            mallet_zone_destroy(z);
        errno = 0;
        z = mallet_zone_create("nano", "MallocNanoZone=V3", err, sizeof err);
        CHECK(z == NULL && errno == EINVAL && strstr(err, "MallocNanoZone"));
        z = mallet_zone_create("nano", "MallocNanoScanPolicy=bogus", err, sizeof err);
        CHECK(z == NULL);
        z = make("MallocNanoScanPolicy=firstfit:MallocGuardEdges=1");
        CHECK(z != NULL);
        if (z) {
            for (int i = 0; i < 5000; i++)
                CHECK(is_nano(mallet_malloc(z, 16)));
            CHECK(mallet_check(z));
            mallet_zone_destroy(z);
        }
    }
}

typedef struct enum_ctx { void **p; size_t *counts; int found; } enum_ctx_t;

static void rec(void *c, unsigned type, const mallet_range_t *r, unsigned n)
{
    enum_ctx_t *ctx = c;
    ctx->counts[type == MALLET_ENUM_BLOCKS ? 0 : type == MALLET_ENUM_REGIONS ? 1 : 2] += n;
    if (type != MALLET_ENUM_BLOCKS)
        return;
    for (unsigned i = 0; i < n; i++)
        for (int k = 0; k < 10; k++)
            if (k != 3 && r[i].address == (uintptr_t)ctx->p[k] && r[i].size == 112)
                ctx->found++;
}

static void test_enumerate(const char *opts)
{
    TEST_CASE("enumerate reports live nano blocks")
    {
        mallet_zone_t *z = make(opts);
        if (!z)
            break;
        void *p[10];
        for (int i = 0; i < 10; i++)
            p[i] = mallet_malloc(z, 100);
        mallet_free(z, p[3]);
        size_t counts[3] = {0, 0, 0};
        enum_ctx_t ctx = {p, counts, 0};
        int rc = mallet_enumerate(z, MALLET_ENUM_ALL, &ctx, rec);
        CHECK(rc == 0 || (rc == ENOTSUP && !(z->caps & MALLET_CAP_ENUMERATE)));
        CHECK_EQ(ctx.found, 9);
        CHECK(counts[1] > 0 && counts[2] > 0);
        mallet_zone_destroy(z);
    }
}

int main(void)
{
    pin_cpu0();
    test_slot_index();
    for (int v = 0; v < 2; v++) {
        printf("== %s\n", versions[v]);
        test_layout_and_fallthrough(versions[v]);
        test_double_free(versions[v]);
        test_use_after_free(versions[v], v == 0 ? "Heap corruption detected, free list canary is damaged for"
                                                : "Heap corruption detected, free list is damaged at");
        test_misdeclared(versions[v]);
        test_check_finds_damage(versions[v]);
        test_destroy_releases(versions[v]);
        test_fork(versions[v]);
        test_enumerate(versions[v]);
    }
    /* Threads need more than one CPU to mean anything. */
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < CPU_SETSIZE; i++)
        CPU_SET(i, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    test_threads(versions[0]);
    test_threads(versions[1]);
    test_pressure_relief(versions[0]);
    test_pressure_relief("MallocNanoZone=V2:MallocNanoMadvisePolicy=warning");
    test_foreign_and_instances();
    test_options();
    return test_summary();
}
