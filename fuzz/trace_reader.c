/*
 * fuzz/trace_reader.c — validating reader for mallet traces (see
 * trace_reader.h for the rules). Works on a byte buffer with no alignment
 * assumption (records are memcpy'd out), tracks live ids in a bitmap sized
 * from the record count (ids are dense: 1..records), and never trusts a
 * length or id before checking it.
 */
#include "trace_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t len, uint64_t rec, const char *why)
{
    if (rec == UINT64_MAX)
        snprintf(err, len, "header: %s", why);
    else
        snprintf(err, len, "record %llu: %s", (unsigned long long)rec, why);
    return EINVAL;
}

static int bit(const uint8_t *m, uint64_t i) { return (m[i / 8] >> (i % 8)) & 1; }
static void set_bit(uint8_t *m, uint64_t i, int v)
{
    if (v)
        m[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        m[i / 8] &= (uint8_t)~(1u << (i % 8));
}

int mallet_trace_validate(const void *data, size_t len, mallet_trace_summary_t *out, char *err,
                          size_t errlen)
{
    mallet_trace_summary_t s;
    memset(&s, 0, sizeof s);
    if (out)
        memset(out, 0, sizeof *out);
    if (len < sizeof(mallet_trace_header_t))
        return bad(err, errlen, UINT64_MAX, "file shorter than the 64-byte header");
    mallet_trace_header_t h;
    memcpy(&h, data, sizeof h);
    if (memcmp(h.magic, MALLET_TRACE_MAGIC, 8) != 0)
        return bad(err, errlen, UINT64_MAX, "bad magic (not a mallet trace)");
    if (h.version != MALLET_TRACE_VERSION)
        return bad(err, errlen, UINT64_MAX, "unsupported version");
    if (h.record_size != sizeof(mallet_trace_record_t))
        return bad(err, errlen, UINT64_MAX, "record size is not 40");
    if (memchr(h.program, '\0', sizeof h.program) == NULL)
        return bad(err, errlen, UINT64_MAX, "program name not NUL-terminated");
    size_t body = len - sizeof h;
    if (body % sizeof(mallet_trace_record_t) != 0)
        return bad(err, errlen, body / sizeof(mallet_trace_record_t), "truncated record");
    s.records = body / sizeof(mallet_trace_record_t);

    uint8_t *live = calloc(s.records / 8 + 1, 1); /* ids 0..records */
    if (live == NULL)
        return ENOMEM;
    const uint8_t *p = (const uint8_t *)data + sizeof h;
    uint64_t last_ts = 0;
    int rc = 0;
    for (uint64_t i = 0; i < s.records && rc == 0; i++) {
        mallet_trace_record_t r;
        memcpy(&r, p + i * sizeof r, sizeof r);
        bool failed = r.flags & MALLET_TRACE_FLAG_FAILED;
        if (r.op < MALLET_TOP_MALLOC || r.op > MALLET_TOP_THREAD_EXIT)
            { rc = bad(err, errlen, i, "unknown op"); break; }
        if (r.flags & ~MALLET_TRACE_FLAG_FAILED)
            { rc = bad(err, errlen, i, "unknown flag bits"); break; }
        if (r.reserved)
            { rc = bad(err, errlen, i, "reserved field not zero"); break; }
        if (r.ts_ns < last_ts)
            { rc = bad(err, errlen, i, "time stamp goes backwards"); break; }
        last_ts = r.ts_ns;
        if ((uint32_t)r.thread + 1 > s.threads)
            s.threads = (uint16_t)(r.thread + 1 > UINT16_MAX ? UINT16_MAX : r.thread + 1);
        bool allocates = r.op != MALLET_TOP_FREE && r.op != MALLET_TOP_FREE_SIZED &&
                         r.op != MALLET_TOP_THREAD_EXIT;
        bool releases = r.op == MALLET_TOP_FREE || r.op == MALLET_TOP_FREE_SIZED || r.op == MALLET_TOP_REALLOC;
        if (r.op == MALLET_TOP_THREAD_EXIT && (r.id || r.old_id || r.size || r.aux))
            { rc = bad(err, errlen, i, "thread_exit with operands"); break; }
        if (r.op == MALLET_TOP_CALLOC) {
            if (r.aux == 0 ? r.size != 0 : r.size % r.aux != 0)
                { rc = bad(err, errlen, i, "calloc size is not count * n"); break; }
        } else if (r.op == MALLET_TOP_MEMALIGN) {
            if (r.aux == 0 || (r.aux & (r.aux - 1)))
                { rc = bad(err, errlen, i, "alignment not a power of two"); break; }
        } else if (r.aux) {
            { rc = bad(err, errlen, i, "aux set for an op without one"); break; }
        }
        if (!allocates && r.id)
            { rc = bad(err, errlen, i, "id on an op that allocates nothing"); break; }
        if (!releases && r.old_id)
            { rc = bad(err, errlen, i, "old_id on an op that releases nothing"); break; }
        if (failed && r.id)
            { rc = bad(err, errlen, i, "failed call with a block id"); break; }
        if (allocates && !failed && r.id == 0 && !(r.op == MALLET_TOP_REALLOC && r.size == 0))
            { rc = bad(err, errlen, i, "successful allocation without an id"); break; }
        if (r.old_id) {
            if (r.old_id > s.blocks || !bit(live, r.old_id))
                { rc = bad(err, errlen, i, "old_id is not a live block"); break; }
            if (!(failed && r.op == MALLET_TOP_REALLOC)) { /* a failed realloc keeps the block */
                set_bit(live, r.old_id, 0);
                s.live--;
            }
        }
        if (r.id) {
            if (r.id != s.blocks + 1)
                { rc = bad(err, errlen, i, "ids not handed out in order 1, 2, 3..."); break; }
            s.blocks++;
            set_bit(live, r.id, 1);
            if (++s.live > s.max_live)
                s.max_live = s.live;
            s.bytes_requested = s.bytes_requested + r.size < s.bytes_requested ? UINT64_MAX
                                                                                : s.bytes_requested + r.size;
        }
        s.by_op[r.op]++;
        s.failed += failed;
    }
    free(live);
    if (rc == 0 && out)
        *out = s;
    return rc;
}
