/*
 * tests/bench/test_bench_units.c — the harness's measuring parts: size
 * distributions (bounds, shapes, determinism, parse errors), the latency
 * histogram's quantiles, the benchmark registry, and where
 * mallet_bench_parallel runs a one-thread benchmark (--main-thread), and
 * the runner's isolation: an exec'd run is a fresh image whose peak RSS
 * does not include the runner's memory; a fork-only run's does.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/bench.h"
#include "bench/latency.h"
#include "bench/runner.h"
#include "support/test.h"
#include "workload/size_dist.h"

static mallet_size_dist_t *parse(const char *spec)
{
    char err[256] = "";
    mallet_size_dist_t *d = mallet_size_dist_parse(spec, err, sizeof err);
    if (!d)
        fprintf(stderr, "parse %s: %s\n", spec, err);
    return d;
}

static pthread_t ran_on;
static void *note_thread(void *arg)
{
    (void)arg;
    ran_on = pthread_self();
    return NULL;
}

static const mallet_bench_t *resolve(const char *name, const mallet_run_config_t *cfg, char *err, size_t len)
{
    (void)cfg;
    snprintf(err, len, "not in the registry");
    return mallet_bench_find(name);
}

/* Peak RSS (KiB) of one tiny glibc-simple run on sys, with `ballast` MiB
 * of touched memory in this (the runner's) process. */
static void run_with_ballast(mallet_isolation_t iso, mallet_run_result_t *res)
{
    mallet_run_config_t cfg = {.threads = 1, .seed = 1, .scale = 0.001, .timeout_s = 120, .isolation = iso};
    mallet_run_one(mallet_bench_find("glibc-simple"), "sys", 1, &cfg, res);
}

int main(int argc, char **argv)
{
    mallet_run_child_main(argc, argv, resolve); /* the exec'd runs come back here */
    mallet_rng_t r;
    TEST_CASE("runner isolation: exec'd runs do not count the runner's memory, fork-only runs do")
    {
        enum { BALLAST_MIB = 384 };
        size_t len = (size_t)BALLAST_MIB << 20;
        char *ballast = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(ballast != MAP_FAILED);
        if (ballast == MAP_FAILED)
            break;
        memset(ballast, 1, len);
        mallet_run_result_t ex, fk;
        run_with_ballast(MALLET_ISOLATE_EXEC, &ex);
        run_with_ballast(MALLET_ISOLATE_FORK, &fk);
        munmap(ballast, len);
        CHECK_MSG(ex.status == RUN_OK, "exec run: %s %s", mallet_run_status_name(ex.status), ex.note);
        CHECK_MSG(fk.status == RUN_OK, "fork run: %s %s", mallet_run_status_name(fk.status), fk.note);
        CHECK(ex.ops > 0 && ex.ops == fk.ops); /* the same work either way */
        /* A sanitizer runtime alone is tens of MiB: compare with the ballast. */
        CHECK_MSG(ex.peak_rss_kb > 0 && ex.peak_rss_kb < (uint64_t)BALLAST_MIB * 1024 / 2,
                  "exec'd run's peak %llu KiB (ballast %d MiB)", (unsigned long long)ex.peak_rss_kb,
                  BALLAST_MIB);
        CHECK_MSG(fk.peak_rss_kb >= (uint64_t)BALLAST_MIB * 1024,
                  "fork run's peak %llu KiB (ballast %d MiB)", (unsigned long long)fk.peak_rss_kb,
                  BALLAST_MIB);
        CHECK(ex.baseline_rss_kb < (uint64_t)BALLAST_MIB * 1024 / 2);
    }
    TEST_CASE("isolation names parse both ways; others are refused")
    {
        mallet_isolation_t iso = MALLET_ISOLATE_FORK;
        CHECK(mallet_isolation_parse("exec", &iso) && iso == MALLET_ISOLATE_EXEC);
        CHECK(mallet_isolation_parse("fork", &iso) && iso == MALLET_ISOLATE_FORK);
        CHECK(!mallet_isolation_parse("spawn", &iso) && iso == MALLET_ISOLATE_FORK);
        CHECK(strcmp(mallet_isolation_name(MALLET_ISOLATE_EXEC), "exec") == 0);
    }
    TEST_CASE("--main-thread runs a one-thread benchmark on the caller; without it, on a worker")
    {
        mallet_bench_thread_t t[2];
        memset(t, 0, sizeof t);
        mallet_bench_ctx_t c = {.threads = 1, .t = t, .main_thread = true};
        CHECK(mallet_bench_parallel(&c, 1, note_thread) == 0);
        CHECK(pthread_equal(ran_on, pthread_self()));
        c.main_thread = false;
        CHECK(mallet_bench_parallel(&c, 1, note_thread) == 0);
        CHECK(!pthread_equal(ran_on, pthread_self()));
    }
    TEST_CASE("const and uniform stay in bounds")
    {
        mallet_size_dist_t *c = parse("const:48"), *u = parse("uniform:10-20");
        CHECK(c && u);
        mallet_rng_seed(&r, 1, 0);
        bool seen_lo = false, seen_hi = false, in = true;
        for (int i = 0; c && u && i < 100000; i++) {
            in &= mallet_size_dist_sample(c, &r) == 48;
            size_t v = mallet_size_dist_sample(u, &r);
            in &= v >= 10 && v <= 20;
            seen_lo |= v == 10;
            seen_hi |= v == 20;
        }
        CHECK(in && seen_lo && seen_hi);
        mallet_size_dist_free(c);
        mallet_size_dist_free(u);
    }
    TEST_CASE("pow2 gives only powers of two in range; K/M suffixes")
    {
        mallet_size_dist_t *d = parse("pow2:16-4K");
        CHECK(d);
        bool ok = true;
        unsigned seen = 0;
        for (int i = 0; d && i < 10000; i++) {
            size_t v = mallet_size_dist_sample(d, &r);
            ok &= (v & (v - 1)) == 0 && v >= 16 && v <= 4096;
            seen |= 1u << __builtin_ctzll(v);
        }
        CHECK(ok);
        CHECK(seen == 0x1FF0); /* 2^4 .. 2^12 all drawn */
        mallet_size_dist_free(d);
    }
    TEST_CASE("pareto respects min and max, and is heavy-tailed")
    {
        mallet_size_dist_t *d = parse("pareto:16,1.2,65536");
        CHECK(d);
        size_t below32 = 0, above1k = 0, n = 200000;
        bool ok = true;
        for (size_t i = 0; d && i < n; i++) {
            size_t v = mallet_size_dist_sample(d, &r);
            ok &= v >= 16 && v <= 65536;
            below32 += v < 32;
            above1k += v > 1024;
        }
        CHECK(ok);
        /* P(X < 2*min) = 1 - 2^-1.2 = 0.565; P(X > 64*min) = 64^-1.2 = 0.0068 */
        CHECK(fabs((double)below32 / n - 0.565) < 0.01);
        CHECK(fabs((double)above1k / n - 0.0068) < 0.002);
        mallet_size_dist_free(d);
    }
    TEST_CASE("mix weights and the app-objects profile's mode")
    {
        mallet_size_dist_t *m = parse("mix:3*const:8+1*const:4096");
        CHECK(m);
        size_t eights = 0, n = 100000;
        for (size_t i = 0; m && i < n; i++)
            eights += mallet_size_dist_sample(m, &r) == 8;
        CHECK(fabs((double)eights / n - 0.75) < 0.01);
        mallet_size_dist_free(m);
        mallet_size_dist_t *a = parse("profile:app-objects");
        CHECK(a);
        size_t small = 0, mode = 0;
        for (size_t i = 0; a && i < n; i++) {
            size_t v = mallet_size_dist_sample(a, &r);
            small += v <= 256;
            mode += v >= 32 && v <= 64;
        }
        CHECK((double)small / n > 0.85);
        CHECK((double)mode / n > 0.40);
        mallet_size_dist_free(a);
    }
    TEST_CASE("same seed, same sequence; different stream, different sequence")
    {
        mallet_size_dist_t *d = parse("lognormal:100,1.0");
        mallet_rng_t a, b, c;
        mallet_rng_seed(&a, 7, 1);
        mallet_rng_seed(&b, 7, 1);
        mallet_rng_seed(&c, 7, 2);
        int same = 0, diff = 0;
        for (int i = 0; d && i < 1000; i++) {
            size_t x = mallet_size_dist_sample(d, &a), y = mallet_size_dist_sample(d, &b),
                   z = mallet_size_dist_sample(d, &c);
            same += x == y;
            diff += x != z;
        }
        CHECK(same == 1000);
        CHECK(diff > 900);
        mallet_size_dist_free(d);
    }
    TEST_CASE("bad specs are refused with a message")
    {
        const char *bad[] = {"", "uniform", "uniform:20-10", "const:x", "pareto:0,1", "mix:", "mix:0*const:1",
                             "profile:nope", "hist:/nonexistent/file", "trace:/nonexistent", "zipf:1"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            char err[256] = "";
            mallet_size_dist_t *d = mallet_size_dist_parse(bad[i], err, sizeof err);
            CHECK_MSG(d == NULL && err[0], "spec '%s' accepted", bad[i]);
            mallet_size_dist_free(d);
        }
    }
    TEST_CASE("latency histogram quantiles are within a bucket")
    {
        static mallet_latency_t h;
        memset(&h, 0, sizeof h);
        for (uint64_t v = 1; v <= 10000; v++)
            mallet_latency_add(&h, v);
        uint64_t p50 = mallet_latency_quantile(&h, 0.5), p99 = mallet_latency_quantile(&h, 0.99);
        CHECK(p50 >= 5000 && p50 <= 5000 * 1.07);
        CHECK(p99 >= 9900 && p99 <= 10000);
        CHECK(mallet_latency_quantile(&h, 1.0) == 10000);
        static mallet_latency_t e;
        CHECK(mallet_latency_quantile(&e, 0.5) == 0);
    }
    TEST_CASE("every registered benchmark can be found by name, names unique")
    {
        size_t n = 0;
        for (const mallet_bench_t *const *b = mallet_benchmarks; *b; b++, n++) {
            CHECK(mallet_bench_find((*b)->name) == *b);
            CHECK((*b)->description && (*b)->run);
        }
        CHECK(n >= 17);
        CHECK(mallet_bench_find("nope") == NULL);
    }
    return test_summary();
}
