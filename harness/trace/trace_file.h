/*
 * trace/trace_file.h — reading a mallet trace (trace_format.h) safely.
 *
 * A trace is untrusted input (it may be truncated, hand-made or fuzzed):
 * mallet_trace_open validates the header and every record — known op,
 * ids that are released only while live and never reused, sizes within
 * the front end's limit — and says what is wrong at which record, so
 * replay never has to second-guess the file.
 */
#ifndef MALLET_TRACE_FILE_H
#define MALLET_TRACE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "trace/trace_format.h"

typedef struct mallet_trace {
    mallet_trace_header_t header;
    const mallet_trace_record_t *rec;  /* n records */
    size_t n;
    uint32_t max_id;                   /* largest block id */
    uint16_t threads;                  /* largest thread number */
    uint64_t allocs, frees, reallocs, bytes_requested;
    void *map_base;                    /* owned mapping (or buffer) */
    size_t map_len;
    int owns_buffer;                   /* 1: map_base is malloc'd, 0: mmap'd */
} mallet_trace_t;

/* Opens and validates a trace file. 0, or -1 with a message in err. */
int mallet_trace_open(const char *path, mallet_trace_t *t, char *err, size_t errlen);
/* Validates a trace held in memory (the buffer must outlive t). */
int mallet_trace_parse(const void *buf, size_t len, mallet_trace_t *t, char *err, size_t errlen);
void mallet_trace_close(mallet_trace_t *t);

#endif
