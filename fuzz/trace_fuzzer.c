/*
 * fuzz/trace_fuzzer.c — fuzzes mallet's validating trace reader
 * (harness/trace/trace_file.c, what `mallet replay` trusts) on arbitrary
 * bytes, and checks what it accepts: the counts add up, ids stay within
 * max_id, every rule is prefix-closed (the trace minus its last record is
 * still valid) and a cut inside a record is rejected. Inputs starting with
 * 'R' get a valid header prepended, so the fuzzer spends its time on
 * records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "trace/trace_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
    mallet_trace_t tr;
    char err[256];
    if (mallet_trace_parse(t, n, &tr, err, sizeof err) != 0)
        return 0;
    uint64_t exits = 0;
    for (size_t i = 0; i < tr.n; i++) {
        if (tr.rec[i].op == MALLET_TOP_THREAD_EXIT)
            exits++;
        if (tr.rec[i].id > tr.max_id || tr.rec[i].old_id > tr.max_id)
            fz_fail("record %zu names an id above max_id %u", i, tr.max_id);
    }
    if (tr.allocs + tr.frees + tr.reallocs + exits != tr.n)
        fz_fail("trace counts do not add up: %zu records, %llu+%llu+%llu+%llu", tr.n,
                (unsigned long long)tr.allocs, (unsigned long long)tr.frees, (unsigned long long)tr.reallocs,
                (unsigned long long)exits);
    if (tr.n > 0) {
        mallet_trace_t t2;
        if (mallet_trace_parse(t, n - sizeof(mallet_trace_record_t), &t2, err, sizeof err) != 0)
            fz_fail("a valid trace minus its last record is rejected: %s", err);
        if (mallet_trace_parse(t, n - 1, &t2, err, sizeof err) == 0)
            fz_fail("a trace cut inside a record is accepted");
    }
    return 0;
}
