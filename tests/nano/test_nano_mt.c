/*
 * test_nano_mt.c — lock-free correctness of nano v1 and v2 under threads,
 * meant for the TSan build (it also runs, faster, everywhere else).
 *
 * Four threads, each pinned to CPU (i % ncpus) so that their magazines /
 * allocation blocks differ, allocate 1..256 B blocks, fill them with a
 * pattern derived from (block, size), and either free them themselves or
 * swap them through a shared exchange array, so most frees are of blocks
 * another thread (on another CPU) allocated. Every free first verifies the
 * pattern. The run is cut into rounds; between rounds all threads wait at
 * a barrier while the main thread runs check() and compares statistics
 * with the blocks the threads hold. At the end everything is freed and
 * the zone must be empty and clean.
 *
 * Duration: argv[1] or MALLET_NANO_MT_SECONDS seconds per nano version
 * (default 6: ~15 s for v1, v2 and v2 with deferred madvise). For a long TSan soak:
 *   MALLET_NANO_MT_SECONDS=100 build/tsan/tests/nano/nano-mt
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libmalloc/nano/nano_internal.h"
#include "mallet/mallet.h"
#include "support/test.h"

#define THREADS 4
#define LOCAL 256   /* blocks each thread holds */
#define XCHG 512    /* shared exchange slots */
#define ROUND_MS 500

typedef struct blk {
    unsigned char *p;
    size_t n;
} blk_t;

static mallet_zone_t *zone;
static blk_t xchg[XCHG]; /* swapped whole with a 16-byte lock below */
static pthread_mutex_t xchg_lock[XCHG];
static pthread_barrier_t round_start, round_end;
static volatile int stop_all; /* written by main between barriers only */
static int round_running;    /* atomic: threads run while set */

typedef struct worker {
    int id;
    uint64_t rng;
    blk_t own[LOCAL];
    unsigned long ops, cross_frees, bad;
} worker_t;

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return *s = x;
}

static unsigned char pattern(const unsigned char *p, size_t n, size_t i)
{
    return (unsigned char)(((uintptr_t)p >> 4) ^ n ^ (i * 131));
}

static void fill(blk_t b)
{
    for (size_t i = 0; i < b.n; i++)
        b.p[i] = pattern(b.p, b.n, i);
}

static bool intact(blk_t b)
{
    for (size_t i = 0; i < b.n; i++)
        if (b.p[i] != pattern(b.p, b.n, i))
            return false;
    return true;
}

static void release(worker_t *w, blk_t b)
{
    if (!b.p)
        return;
    if (!intact(b))
        w->bad++;
    mallet_free(zone, b.p);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->id % (ncpu > 0 ? ncpu : 1), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    for (;;) {
        pthread_barrier_wait(&round_start);
        if (stop_all)
            return NULL;
        while (__atomic_load_n(&round_running, __ATOMIC_ACQUIRE)) {
            for (int k = 0; k < 64; k++) {
                uint64_t r = next_rand(&w->rng);
                unsigned i = (unsigned)(r % LOCAL);
                blk_t *mine = &w->own[i];
                if ((r >> 20) % 4 == 0) {
                    /* Trade: my block goes to the exchange, whatever was
                     * there (another thread's) becomes mine and is freed
                     * by me, usually on another CPU than its allocator's. */
                    unsigned x = (unsigned)((r >> 24) % XCHG);
                    pthread_mutex_lock(&xchg_lock[x]);
                    blk_t theirs = xchg[x];
                    xchg[x] = *mine;
                    pthread_mutex_unlock(&xchg_lock[x]);
                    *mine = (blk_t){0};
                    if (theirs.p)
                        w->cross_frees++;
                    release(w, theirs);
                } else {
                    release(w, *mine);
                    size_t n = 1 + (size_t)((r >> 32) % NANO_MAX_SIZE);
                    blk_t b = {(r >> 45) % 8 ? mallet_malloc(zone, n) : mallet_calloc(zone, 1, n), n};
                    if (b.p == NULL) {
                        w->bad++;
                        *mine = (blk_t){0};
                        continue;
                    }
                    fill(b);
                    *mine = b;
                }
                w->ops++;
            }
        }
        pthread_barrier_wait(&round_end);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(const char *opts, double seconds)
{
    TEST_CASE(opts)
    {
        char err[256] = "";
        zone = mallet_zone_create("nano", opts, err, sizeof err);
        CHECK_MSG(zone != NULL, "%s", err);
        if (!zone)
            break;
        CHECK_MSG(((nano_zone_t *)zone)->ops != NULL, "nano is off in this build: no range at %#llx",
                  (unsigned long long)NANO_RANGE_BASE);
        memset(xchg, 0, sizeof xchg);
        static worker_t w[THREADS];
        pthread_t th[THREADS];
        stop_all = 0;
        for (int i = 0; i < THREADS; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].id = i;
            w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
            pthread_create(&th[i], NULL, worker_main, &w[i]);
        }
        unsigned rounds = 0, failed_checks = 0, nano_blocks = 0;
        double end = now() + seconds;
        do {
            __atomic_store_n(&round_running, 1, __ATOMIC_RELEASE);
            pthread_barrier_wait(&round_start);
            struct timespec nap = {0, ROUND_MS * 1000000L};
            nanosleep(&nap, NULL);
            __atomic_store_n(&round_running, 0, __ATOMIC_RELEASE);
            pthread_barrier_wait(&round_end);
            /* Quiescent: every thread waits at round_start. */
            rounds++;
            if (!mallet_check(zone))
                failed_checks++;
            size_t held = 0;
            for (int i = 0; i < THREADS; i++)
                for (int j = 0; j < LOCAL; j++)
                    if (w[i].own[j].p) {
                        held++;
                        nano_blocks += nano_in_window((nano_zone_t *)zone, w[i].own[j].p);
                    }
            for (int x = 0; x < XCHG; x++)
                held += xchg[x].p != NULL;
            mallet_zone_stats_t s;
            mallet_statistics(zone, &s);
            CHECK_MSG(s.blocks_in_use == held, "round %u: statistics count %zu blocks, threads hold %zu", rounds,
                      s.blocks_in_use, held);
        } while (now() < end);
        stop_all = 1;
        pthread_barrier_wait(&round_start);
        unsigned long ops = 0, cross = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            for (int j = 0; j < LOCAL; j++)
                release(&w[i], w[i].own[j]);
            CHECK_EQ(w[i].bad, 0);
            ops += w[i].ops, cross += w[i].cross_frees;
        }
        for (int x = 0; x < XCHG; x++)
            release(&w[0], xchg[x]);
        CHECK_EQ(w[0].bad, 0);
        CHECK_EQ(failed_checks, 0);
        CHECK(nano_blocks > 0); /* nano served, not only the helper */
        CHECK(cross > 0);
        CHECK(mallet_check(zone));
        mallet_zone_stats_t s;
        mallet_statistics(zone, &s);
        CHECK_EQ(s.blocks_in_use, 0);
        printf("%s: %.0f s, %u rounds checked, %lu ops, %lu cross-thread frees\n", opts, seconds, rounds, ops,
               cross);
        mallet_zone_destroy(zone);
    }
}

int main(int argc, char **argv)
{
    const char *env = getenv("MALLET_NANO_MT_SECONDS");
    double seconds = argc > 1 ? atof(argv[1]) : env ? atof(env) : 6;
    if (seconds <= 0)
        seconds = 6;
    for (int i = 0; i < XCHG; i++)
        pthread_mutex_init(&xchg_lock[i], NULL);
    pthread_barrier_init(&round_start, NULL, THREADS + 1);
    pthread_barrier_init(&round_end, NULL, THREADS + 1);
    run("MallocNanoZone=V1", seconds);
    run("MallocNanoZone=V2", seconds);
    run("MallocNanoZone=V2:MallocNanoMadvisePolicy=warning", seconds / 2);
    return test_summary();
}
