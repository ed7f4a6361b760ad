/*
 * fuzz/trace_reader.h — a validating reader for mallet trace files
 * (harness/trace/trace_format.h), written for the `trace` fuzz target and
 * usable by anything that must not trust a trace file.
 */
#ifndef MALLET_FUZZ_TRACE_READER_H
#define MALLET_FUZZ_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "trace/trace_format.h"

typedef struct mallet_trace_summary {
    uint64_t records;
    uint64_t by_op[10];        /* index = mallet_trace_op_t */
    uint64_t failed;           /* records with MALLET_TRACE_FLAG_FAILED */
    uint64_t blocks;           /* ids handed out */
    uint64_t live;             /* ids not released at the end */
    uint64_t max_live;
    uint64_t bytes_requested;  /* sum of sizes of successful allocations (saturating) */
    uint16_t threads;          /* highest thread number + 1 */
} mallet_trace_summary_t;

/* Validates a whole trace held in memory. Rules: a 64-byte header with the
 * magic, version 1 and record size 40; a whole number of records; known
 * op codes and flags; reserved fields zero; ids of successful allocations
 * are 1, 2, 3... in file order; free/realloc/free_sized name a live id (or 0
 * for blocks from before recording); calloc's size = count * n without
 * overflow; memalign's alignment a power of two; failed records hand out no
 * id; time stamps never go backwards; THREAD_EXIT carries no ids.
 * Returns 0, or EINVAL with "record N: reason" in err. */
int mallet_trace_validate(const void *data, size_t len, mallet_trace_summary_t *out, char *err,
                          size_t errlen);

#endif
