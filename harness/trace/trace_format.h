/*
 * trace/trace_format.h — mallet's binary trace of malloc-family calls.
 *
 * Written by libmallet.so when MALLET_TRACE=<path> is set (the drop-in
 * records every call it routes), read by `mallet replay` and by the
 * empirical size distribution. Little-endian, fixed-size records so a
 * reader can mmap the file and index it.
 *
 *   file   = header, record*
 *   header = 64 bytes (mallet_trace_header_t)
 *   record = 40 bytes (mallet_trace_record_t)
 *
 * Pointers are never stored: each block returned gets an id (1, 2, ...,
 * never reused); free/realloc name the id they release. 0 = NULL / none.
 */
#ifndef MALLET_TRACE_FORMAT_H
#define MALLET_TRACE_FORMAT_H

#include <stdint.h>

#define MALLET_TRACE_MAGIC "MALLETTR"
#define MALLET_TRACE_VERSION 1

typedef enum mallet_trace_op {
    MALLET_TOP_MALLOC = 1,
    MALLET_TOP_CALLOC = 2,        /* size = count * n, aux = count */
    MALLET_TOP_REALLOC = 3,       /* old_id -> id; size = new size */
    MALLET_TOP_FREE = 4,          /* old_id */
    MALLET_TOP_MEMALIGN = 5,      /* aux = alignment (memalign, aligned_alloc, posix_memalign) */
    MALLET_TOP_VALLOC = 6,
    MALLET_TOP_PVALLOC = 7,
    MALLET_TOP_FREE_SIZED = 8,    /* free_sized / sdallocx-style: old_id, size */
    MALLET_TOP_THREAD_EXIT = 9,   /* thread finished (lets replay retire it) */
} mallet_trace_op_t;

enum {
    MALLET_TRACE_FLAG_FAILED = 1, /* the call returned NULL / an error */
};

typedef struct mallet_trace_header {
    char magic[8];          /* "MALLETTR" */
    uint32_t version;       /* MALLET_TRACE_VERSION */
    uint32_t record_size;   /* sizeof(mallet_trace_record_t) */
    uint64_t start_ns;      /* CLOCK_MONOTONIC at first record */
    uint32_t pid;
    uint32_t reserved;
    char program[32];       /* NUL-padded program name */
} mallet_trace_header_t;

typedef struct mallet_trace_record {
    uint64_t ts_ns;         /* since header.start_ns */
    uint64_t size;          /* requested bytes */
    uint64_t aux;           /* alignment or calloc count, else 0 */
    uint32_t id;            /* block id returned (0 if none) */
    uint32_t old_id;        /* block id released (free, realloc), else 0 */
    uint16_t thread;        /* small thread number, in order of first call */
    uint8_t op;             /* mallet_trace_op_t */
    uint8_t flags;          /* MALLET_TRACE_FLAG_* */
    uint32_t reserved;
} mallet_trace_record_t;

_Static_assert(sizeof(mallet_trace_header_t) == 64, "trace header is 64 bytes");
_Static_assert(sizeof(mallet_trace_record_t) == 40, "trace record is 40 bytes");

#endif
