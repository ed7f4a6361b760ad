/*
 * fuzz/misuse_toy_fuzzer.c — test-only: the misuse checker (misuse_core.c)
 * against the toy zone (toy_zone.c), which is never in mallet's registry.
 * Same input format as `misuse` (byte 0, the backend selector, is ignored).
 *
 * MALLET_TOY_WEAK=1 compiles nothing differently: it creates the toy with
 * its seeded bug (free() stops looking for double frees while the zone
 * still claims MALLET_CAP_DETECT_DOUBLE_FREE). The fuzzer must then crash
 * quickly; tests/stages/50-fuzz.sh times that (fuzz/README.md).
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int weak = -1;
    if (weak < 0) {
        const char *w = getenv("MALLET_TOY_WEAK");
        weak = w && *w && *w != '0';
    }
    if (size < 1)
        return 0;
    fz_input_begin(data, size);
    mallet_zone_t *z = fz_toy_zone_create(weak);
    if (z == NULL)
        fz_fail("toy zone: cannot create");
    fz_misuse_input(z, data + 1, size - 1);
    return 0;
}
