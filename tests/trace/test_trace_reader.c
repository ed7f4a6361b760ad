/*
 * tests/trace/test_trace_reader.c — mallet_trace_parse accepts well-formed
 * traces and refuses every kind of damage with a message naming it.
 */
#include <string.h>

#include "support/test.h"
#include "trace/trace_file.h"

static unsigned char buf[64 + 40 * 16];

static size_t build(const mallet_trace_record_t *recs, size_t n)
{
    mallet_trace_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MALLET_TRACE_MAGIC, 8);
    h.version = MALLET_TRACE_VERSION;
    h.record_size = sizeof(mallet_trace_record_t);
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, recs, n * sizeof *recs);
    return sizeof h + n * sizeof *recs;
}

static int parse(size_t len, char *err)
{
    mallet_trace_t t;
    return mallet_trace_parse(buf, len, &t, err, 256);
}

int main(void)
{
    char err[256];
    mallet_trace_record_t good[] = {
        {.op = MALLET_TOP_MALLOC, .size = 10, .id = 1, .thread = 1},
        {.op = MALLET_TOP_REALLOC, .size = 20, .id = 2, .old_id = 1, .thread = 1},
        {.op = MALLET_TOP_MEMALIGN, .size = 20, .aux = 64, .id = 3, .thread = 2},
        {.op = MALLET_TOP_FREE, .old_id = 2, .thread = 2},
        {.op = MALLET_TOP_MALLOC, .size = (uint64_t)-1, .flags = MALLET_TRACE_FLAG_FAILED, .thread = 1},
    };
    TEST_CASE("a well-formed trace parses, with its counts")
    {
        mallet_trace_t t;
        size_t len = build(good, 5);
        CHECK(mallet_trace_parse(buf, len, &t, err, sizeof err) == 0);
        CHECK(t.n == 5 && t.max_id == 3 && t.threads == 2);
        CHECK(t.allocs == 3 && t.frees == 1 && t.reallocs == 1);
    }
    TEST_CASE("damage is refused with a message")
    {
        size_t len = build(good, 5);
        CHECK(parse(len - 1, err) != 0 && strstr(err, "truncated"));
        CHECK(parse(10, err) != 0 && strstr(err, "too short"));
        buf[0] = 'X';
        CHECK(parse(len, err) != 0 && strstr(err, "magic"));
        mallet_trace_record_t r[2];
        memcpy(r, good, sizeof r);
        r[1].old_id = 7; /* releases a block that never existed */
        len = build(r, 2);
        CHECK(parse(len, err) != 0 && strstr(err, "not live"));
        memcpy(r, good, sizeof r);
        r[1].id = 1;     /* id reused */
        r[1].old_id = 0;
        len = build(r, 2);
        CHECK(parse(len, err) != 0 && strstr(err, "reuses"));
        memcpy(r, good, sizeof r);
        r[0].op = 77;
        len = build(r, 1);
        CHECK(parse(len, err) != 0 && strstr(err, "unknown operation"));
        memcpy(r, good, sizeof r);
        r[0].size = (uint64_t)-1; /* impossible size that "succeeded" */
        len = build(r, 1);
        CHECK(parse(len, err) != 0 && strstr(err, "impossible"));
        memcpy(r, good + 2, sizeof r[0]);
        r[0].aux = 48;
        len = build(r, 1);
        CHECK(parse(len, err) != 0 && strstr(err, "power of two"));
        mallet_trace_record_t dbl[3] = {good[0], {.op = MALLET_TOP_FREE, .old_id = 1},
                                        {.op = MALLET_TOP_FREE, .old_id = 1}};
        len = build(dbl, 3);
        CHECK(parse(len, err) != 0 && strstr(err, "not live"));
    }
    return test_summary();
}
