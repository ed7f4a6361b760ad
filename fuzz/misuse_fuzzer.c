/*
 * fuzz/misuse_fuzzer.c — the misuse target (see misuse_core.c for the
 * injections and verdicts).
 *
 * Byte 0 picks, modulo their count, one of the registry's usable backends
 * that can be misused safely and promise something: MALLET_CAP_INSTANCES
 * and MALLET_CAP_DESTROY_RELEASES plus at least one detect capability.
 * Each input gets a fresh zone, destroyed at the end. Peers (sys, je, mi,
 * tc) promise no detection, so with only peers built this target runs
 * nothing; misuse_toy_fuzzer.c drives the same checker on a toy zone.
 * ptmalloc's one promise, MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE, gets
 * it immediate double frees only (misuse_core.c).
 */
#include "fuzz_common.h"

#define DETECT_CAPS (MALLET_CAP_DETECT_DOUBLE_FREE | MALLET_CAP_DETECT_INVALID_FREE | \
                     MALLET_CAP_DETECT_FREELIST_CORRUPTION | MALLET_CAP_DETECT_HEADER_CORRUPTION | \
                     MALLET_CAP_DETECT_INVALID_REALLOC | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const mallet_backend_t *eligible[32];
    static size_t n = (size_t)-1;
    if (n == (size_t)-1) {
        const mallet_backend_t *all[32];
        size_t k = fz_backends_with(MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES, all, 32);
        n = 0;
        for (size_t i = 0; i < k; i++)
            if (all[i]->caps & DETECT_CAPS)
                eligible[n++] = all[i];
    }
    if (size < 1 || n == 0)
        return 0;
    bool instance;
    fz_input_begin(data, size);
    mallet_zone_t *z = fz_zone_open(eligible[data[0] % n], &instance);
    if (!instance || !(z->caps & MALLET_CAP_DESTROY_RELEASES))
        fz_fail("%s: zone does not have the instance/destroy capabilities its backend claims", z->backend->id);
    fz_misuse_input(z, data + 1, size - 1);
    return 0;
}
