/*
 * fuzz/trace_fuzzer.c — fuzzes the validating trace reader
 * (trace_reader.c) on arbitrary bytes, and checks what it accepts: the
 * summary adds up (ops sum to records, live <= blocks <= records,
 * max_live >= live), every rule is prefix-closed (the trace minus its
 * last record is still valid) and a cut inside a record is rejected.
 * Inputs starting with 'R' get a valid header prepended, so the fuzzer
 * spends its time on records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "trace_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Short inputs get a valid header prepended so records are reached. */
    static uint8_t buf[64 + 40 * 512];
    const uint8_t *t = data;
    size_t n = size;
    if (size > 0 && data[0] == 'R' && size - 1 <= sizeof buf - 64) {
        mallet_trace_header_t h = {.version = MALLET_TRACE_VERSION, .record_size = 40};
        memcpy(h.magic, MALLET_TRACE_MAGIC, 8);
        memcpy(buf, &h, sizeof h);
        memcpy(buf + 64, data + 1, size - 1);
        t = buf;
        n = 64 + size - 1;
    }
    mallet_trace_summary_t s;
    char err[128];
    if (mallet_trace_validate(t, n, &s, err, sizeof err) != 0)
        return 0;
    uint64_t sum = 0;
    for (int i = 0; i < 10; i++)
        sum += s.by_op[i];
    if (sum != s.records || s.live > s.blocks || s.blocks > s.records || s.max_live < s.live ||
        s.failed > s.records)
        fz_fail("trace summary does not add up: records %llu ops %llu blocks %llu live %llu",
                (unsigned long long)s.records, (unsigned long long)sum, (unsigned long long)s.blocks,
                (unsigned long long)s.live);
    if (s.records > 0) {
        mallet_trace_summary_t s2;
        if (mallet_trace_validate(t, n - 40, &s2, err, sizeof err) != 0)
            fz_fail("a valid trace minus its last record is rejected: %s", err);
        if (mallet_trace_validate(t, n - 1, &s2, err, sizeof err) == 0)
            fz_fail("a trace cut inside a record is accepted");
    }
    return 0;
}
