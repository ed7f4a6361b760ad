/*
 * fuzz/diff_fuzzer.c — differential target: one instruction stream on two
 * backends must agree on everything the zone API defines.
 *
 * Byte 0 picks an ordered pair of distinct usable backends (a backend
 * against itself when only one is usable). Each instruction runs on both
 * zones, each with its own shadow model (fuzz_common.c: alignment,
 * usable size, no overlap, contents, calloc zeroing). Then the outcomes
 * must match: success vs NULL, and errno when both refused (ENOMEM for
 * impossible sizes, EINVAL for bad alignments). Not compared, because
 * the API leaves them to the backend: realloc(p, 0), how many blocks a
 * best-effort batch_malloc returns, usable sizes, addresses.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nb = fz_backend_count();
    if (size < 1 || nb == 0)
        return 0;
    size_t i = 0, j = 0;
    if (nb > 1) {
        size_t pair = data[0] % (nb * (nb - 1));
        i = pair / (nb - 1);
        j = pair % (nb - 1);
        if (j >= i)
            j++;
    }
    const mallet_backend_t *ba = fz_backend(i), *bb = fz_backend(j);
    bool ia, ib;
    fz_input_begin(data, size);
    mallet_zone_t *za = fz_zone_open(ba, &ia), *zb = fz_zone_open(bb, &ib);
    static fz_run_t ra, rb;
    fz_run_init(&ra, za);
    fz_run_init(&rb, zb);
    fz_reader_t rd;
    fz_reader_init(&rd, data + 1, size - 1);
    fz_inst_t in;
    for (unsigned k = 0; k < FZ_MAX_OPS && fz_decode(&rd, &in, k); k++) {
        fz_outcome_t oa = fz_exec(&ra, &in), ob = fz_exec(&rb, &in);
        if (fz_errors.count)
            fz_fail("%s/%s: error report during a valid stream (op %u, %s)", ba->id, bb->id, k,
                    fz_op_name(in.op));
        if (oa.status == FZ_SKIPPED || ob.status == FZ_SKIPPED)
            continue;
        if (oa.status != ob.status)
            fz_fail("%s and %s disagree on %s (op %u, size %zu, count %u, align %zu): %s vs %s", ba->id,
                    bb->id, fz_op_name(in.op), k, in.size, in.count, in.align,
                    oa.status == FZ_OK ? "success" : "NULL", ob.status == FZ_OK ? "success" : "NULL");
        if (oa.status == FZ_NULL && oa.err != ob.err)
            fz_fail("%s and %s disagree on errno after %s (op %u, size %zu): %d vs %d", ba->id, bb->id,
                    fz_op_name(in.op), k, in.size, oa.err, ob.err);
    }
    fz_run_finish(&ra);
    fz_run_finish(&rb);
    if (fz_errors.count)
        fz_fail("%s/%s: error report while freeing everything", ba->id, bb->id);
    fz_zone_close(za, ia);
    if (zb != za || ib)
        fz_zone_close(zb, ib);
    return 0;
}
