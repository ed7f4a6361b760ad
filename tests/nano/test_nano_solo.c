/*
 * test_nano_solo.c — nano's single-threaded fast path (nano_solo() in
 * nano_internal.h) and the way out of it.
 *
 * The process starts with one thread. Phase 1 churns blocks of every class
 * in zones with the fast path on (plain stores) and off
 * (nano.single_thread_fast=0: the atomics, as libmalloc), v1 and v2, and
 * asks check() and the statistics to agree exactly with what the test
 * holds. Phase 2 starts threads (glibc clears __libc_single_threaded in
 * pthread_create), which free the blocks phase 1 left live, made on the
 * plain path, and churn on the atomic one; after the join check() and the
 * statistics must again be exact. Every live block carries its own index
 * and a fill byte, so a block lost or handed out twice by either path
 * shows up as a damaged stamp, a wrong count or a check() failure.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "libmalloc/nano/nano_internal.h"
#include "mallet/mallet.h"
#include "support/test.h"

enum { LIVE = 8000, STEPS = 200000, THREADS = 4 };

typedef struct zcase {
    const char *opts;
    bool fast;        /* nano.single_thread_fast as set in opts */
    mallet_zone_t *z;
    void *slot[LIVE];
    size_t len[LIVE];
} zcase_t;

static zcase_t cases[] = {
    {.opts = "MallocNanoZone=V1", .fast = true},
    {.opts = "MallocNanoZone=V1:nano.single_thread_fast=0", .fast = false},
    {.opts = "MallocNanoZone=V2", .fast = true},
    {.opts = "MallocNanoZone=V2:nano.single_thread_fast=0", .fast = false},
    {.opts = "MallocNanoZone=V2:MallocNanoMadvisePolicy=warning", .fast = true},
};
#define NCASES (sizeof cases / sizeof cases[0])

static uint64_t step(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* Index in the first word (when it fits), a fill byte after it. */
static void stamp(unsigned char *p, size_t n, size_t idx)
{
    unsigned char fill = (unsigned char)(idx * 131 + 7);
    if (n >= 8) {
        uint64_t v = idx;
        memcpy(p, &v, 8);
        memset(p + 8, fill, n - 8);
    } else {
        memset(p, fill, n);
    }
}
static bool stamp_ok(const unsigned char *p, size_t n, size_t idx)
{
    unsigned char fill = (unsigned char)(idx * 131 + 7);
    size_t from = 0;
    if (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (v != idx)
            return false;
        from = 8;
    }
    for (size_t i = from; i < n; i++)
        if (p[i] != fill)
            return false;
    return true;
}

/* Replaces slot idx (freeing what is there) with a fresh block; counts
 * damaged stamps and blocks outside nano into *bad. */
static void replace(zcase_t *c, size_t idx, uint64_t *x, int *bad)
{
    if (c->slot[idx]) {
        if (!stamp_ok(c->slot[idx], c->len[idx], idx))
            (*bad)++;
        mallet_free(c->z, c->slot[idx]);
        c->slot[idx] = NULL;
    }
    size_t n = 1 + step(x) % 256;
    unsigned char *p = mallet_malloc(c->z, n);
    if (p == NULL || !nano_has_signature((uintptr_t)p)) {
        (*bad)++;
        return;
    }
    stamp(p, n, idx);
    c->slot[idx] = p, c->len[idx] = n;
}

static size_t live_count(const zcase_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < LIVE; i++)
        n += c->slot[i] != NULL;
    return n;
}

static void expect_exact(zcase_t *c, const char *when)
{
    CHECK_MSG(mallet_check(c->z), "%s: check() failed %s", c->opts, when);
    mallet_zone_stats_t s;
    mallet_statistics(c->z, &s);
    size_t live = live_count(c);
    CHECK_MSG(s.blocks_in_use == live, "%s: statistics say %zu blocks in use %s, the test holds %zu", c->opts,
              s.blocks_in_use, when, live);
}

static void phase1(void)
{
    TEST_CASE("one thread: churn on plain stores and on the atomics, check() and statistics exact")
    {
        CHECK_MSG(mallet_os_single_threaded(),
                  "the process is not single-threaded at start, so the fast path is not being tested");
        for (size_t k = 0; k < NCASES; k++) {
            zcase_t *c = &cases[k];
            char err[256] = "";
            c->z = mallet_zone_create("nano", c->opts, err, sizeof err);
            CHECK_MSG(c->z != NULL, "create_zone(%s): %s", c->opts, err);
            if (!c->z)
                continue;
            CHECK_MSG(nano_solo((nano_zone_t *)c->z) == c->fast, "%s: fast path %s while single-threaded",
                      c->opts, c->fast ? "off" : "on");
            uint64_t x = 0x9E3779B97F4A7C15ull + k;
            int bad = 0;
            for (size_t i = 0; i < LIVE; i++)
                replace(c, i, &x, &bad);
            for (int s = 0; s < STEPS; s++)
                replace(c, step(&x) % LIVE, &x, &bad);
            /* Leave every other slot live for the threads to free. */
            for (size_t i = 0; i < LIVE; i += 2) {
                if (!stamp_ok(c->slot[i], c->len[i], i))
                    bad++;
                mallet_free(c->z, c->slot[i]);
                c->slot[i] = NULL;
            }
            CHECK_MSG(bad == 0, "%s: %d damaged or misplaced blocks", c->opts, bad);
            expect_exact(c, "after the single-threaded churn");
        }
    }
}

typedef struct worker { unsigned id; int bad, solo_seen; } worker_t;

/* Thread t owns the slots i with i % THREADS == t: it frees the blocks
 * phase 1 made there, then churns them. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    uint64_t x = 0xD1B54A32D192ED03ull * (w->id + 1);
    for (size_t k = 0; k < NCASES; k++) {
        zcase_t *c = &cases[k];
        if (!c->z)
            continue;
        w->solo_seen += nano_solo((nano_zone_t *)c->z);
        for (size_t i = w->id; i < LIVE; i += THREADS)
            replace(c, i, &x, &w->bad);
        for (int s = 0; s < STEPS / THREADS; s++) {
            size_t i = (size_t)(step(&x) % (LIVE / THREADS)) * THREADS + w->id;
            replace(c, i, &x, &w->bad);
        }
    }
    return NULL;
}

static void phase2(void)
{
    TEST_CASE("threads free the plain-path blocks and churn on the atomics, check() and statistics exact")
    {
        pthread_t th[THREADS];
        worker_t w[THREADS];
        for (unsigned t = 0; t < THREADS; t++) {
            w[t] = (worker_t){t, 0, 0};
            CHECK(pthread_create(&th[t], NULL, worker_main, &w[t]) == 0);
        }
        for (unsigned t = 0; t < THREADS; t++) {
            pthread_join(th[t], NULL);
            CHECK_MSG(w[t].bad == 0, "thread %u: %d damaged or misplaced blocks", t, w[t].bad);
            CHECK_MSG(w[t].solo_seen == 0, "thread %u saw the single-threaded path on %d zones", t,
                      w[t].solo_seen);
        }
        for (size_t k = 0; k < NCASES; k++) {
            zcase_t *c = &cases[k];
            if (!c->z)
                continue;
            expect_exact(c, "after the threads");
            int bad = 0;
            for (size_t i = 0; i < LIVE; i++)
                if (c->slot[i]) {
                    bad += !stamp_ok(c->slot[i], c->len[i], i);
                    mallet_free(c->z, c->slot[i]);
                    c->slot[i] = NULL;
                }
            CHECK_MSG(bad == 0, "%s: %d damaged blocks at the end", c->opts, bad);
            expect_exact(c, "after freeing everything");
            mallet_zone_destroy(c->z);
        }
    }
}

int main(void)
{
    phase1();
    phase2();
    return test_summary();
}
