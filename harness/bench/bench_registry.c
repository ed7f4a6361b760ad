/*
 * bench/bench_registry.c — the suite, in report order. Add a benchmark by
 * writing bench_<name>.c with a `const mallet_bench_t mallet_bench_<name>`
 * and listing it here.
 */
#include <string.h>

#include "bench/bench.h"

#define B(x) extern const mallet_bench_t mallet_bench_##x;
B(glibc_simple) B(glibc_thread) B(larson) B(xmalloc) B(cache_thrash) B(cache_scratch) B(mstress)
B(rptest) B(alloc_test) B(app_objects) B(tier_walk) B(lifo_small) B(server_mt) B(malloc_large)
B(realloc_growth) B(fragmentation) B(small_churn)
#undef B

const mallet_bench_t *const mallet_benchmarks[] = {
    &mallet_bench_glibc_simple, &mallet_bench_glibc_thread, &mallet_bench_larson,
    &mallet_bench_xmalloc, &mallet_bench_cache_thrash, &mallet_bench_cache_scratch,
    &mallet_bench_mstress, &mallet_bench_rptest, &mallet_bench_small_churn, &mallet_bench_alloc_test,
    &mallet_bench_app_objects, &mallet_bench_tier_walk, &mallet_bench_lifo_small,
    &mallet_bench_server_mt, &mallet_bench_malloc_large, &mallet_bench_realloc_growth,
    &mallet_bench_fragmentation, NULL,
};

const mallet_bench_t *mallet_bench_find(const char *name)
{
    for (const mallet_bench_t *const *b = mallet_benchmarks; *b; b++)
        if (strcmp((*b)->name, name) == 0)
            return *b;
    return NULL;
}

bool mallet_bench_in_default_suite(const mallet_bench_t *b)
{
    (void)b;
    return true;
}
