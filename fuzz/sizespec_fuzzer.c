/*
 * fuzz/sizespec_fuzzer.c — fuzzes mallet_size_dist_parse
 * (harness/workload/size_dist.h, library mallet_workload).
 *
 * Specs that read files (hist:, trace:) are skipped: the fuzzer must not
 * open arbitrary paths. For an accepted spec: sampling is deterministic
 * for a seed, the canonical spec (mallet_size_dist_spec) parses again and
 * samples identically, and freeing works (ASan/LSan check the rest).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "workload/size_dist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *spec = malloc(size + 1);
    memcpy(spec, data, size);
    spec[size] = '\0';
    if (strstr(spec, "hist:") || strstr(spec, "trace:")) {
        free(spec);
        return 0;
    }
    char err[256];
    mallet_size_dist_t *d = mallet_size_dist_parse(spec, err, sizeof err);
    if (d) {
        mallet_rng_t r1, r2;
        mallet_rng_seed(&r1, 42, 0);
        mallet_rng_seed(&r2, 42, 0);
        const char *canon = mallet_size_dist_spec(d);
        mallet_size_dist_t *d2 = canon ? mallet_size_dist_parse(canon, err, sizeof err) : NULL;
        if (canon && d2 == NULL)
            fz_fail("sizespec: '%s' accepted but its canonical form '%s' is not: %s", spec, canon, err);
        for (int i = 0; i < 64; i++) {
            size_t a = mallet_size_dist_sample(d, &r1);
            size_t b = d2 ? mallet_size_dist_sample(d2, &r2) : a;
            if (a != b)
                fz_fail("sizespec: '%s' and its canonical form '%s' sample differently (%zu vs %zu)", spec,
                        canon, a, b);
        }
        mallet_size_dist_free(d2);
        mallet_size_dist_free(d);
    }
    free(spec);
    return 0;
}
