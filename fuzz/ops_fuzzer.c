/*
 * fuzz/ops_fuzzer.c — the operation-stream target.
 *
 * Input: byte 0 picks a backend among the registry's usable ones (modulo
 * their count); the rest is a stream of instructions (fuzz_ops.h) run
 * against a shadow model (fuzz_common.c): alignment, usable size, no
 * overlap, contents kept, calloc zeroing, check() every 8th op and at the
 * end for zones with MALLET_CAP_CHECK. Backends with MALLET_CAP_INSTANCES
 * get a fresh zone per input, destroyed at the end; the others run in
 * their one shared zone and everything is freed at the end.
 * A valid stream must never produce an error report.
 */
#include <stdio.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nb = fz_backend_count();
    if (size < 1 || nb == 0)
        return 0;
    const mallet_backend_t *b = fz_backend(data[0] % nb);
    bool instance;
    fz_input_begin(data, size);
    mallet_zone_t *z = fz_zone_open(b, &instance);
    static fz_run_t run; /* large: keep it off the stack */
    fz_run_init(&run, z);
    fz_reader_t rd;
    fz_reader_init(&rd, data + 1, size - 1);
    fz_inst_t in;
    for (unsigned i = 0; i < FZ_MAX_OPS && fz_decode(&rd, &in, i); i++) {
        fz_exec(&run, &in);
        if (fz_errors.count)
            fz_fail("%s: error report during a valid stream (op %u, %s)", b->id, i, fz_op_name(in.op));
    }
    fz_run_finish(&run);
    if (fz_errors.count)
        fz_fail("%s: error report while freeing everything", b->id);
    fz_zone_close(z, instance);
    return 0;
}
