/*
 * pt_test_util.h — helpers shared by the ptmalloc tests: fresh instances,
 * raw chunk-header access and a recording error handler.
 */
#ifndef PT_TEST_UTIL_H
#define PT_TEST_UTIL_H

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mallet/mallet.h"
#include "ptmalloc/ptmalloc_arena.h"
#include "support/test.h"

/* Chunk header words of a block: [-2] prev_size, [-1] size|bits. */
#define HDR(p) ((size_t *)(p))
#define SIZE_FIELD(p) (HDR(p)[-1])
#define PREV_SIZE_FIELD(p) (HDR(p)[-2])
#define CHUNKSIZE(p) (SIZE_FIELD(p) & ~(size_t)7)

static inline mallet_zone_t *fresh(const char *opts)
{
    char err[256] = "";
    const mallet_backend_t *b = mallet_backend_find("ptmalloc");
    if (!b) {
        fprintf(stderr, "ptmalloc backend not built\n");
        exit(77);
    }
    mallet_zone_t *z = b->create_zone(opts, err, sizeof err);
    if (!z) {
        fprintf(stderr, "create_zone(%s): %s\n", opts ? opts : "", err);
        exit(1);
    }
    return z;
}

typedef struct recorded {
    unsigned count;
    mallet_error_kind_t kind;
    mallet_error_style_t style;
    char message[480];
} recorded_t;

static recorded_t rec;

static inline void record_handler(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    if (rec.count++ == 0) {
        rec.kind = r->kind;
        rec.style = r->style;
        snprintf(rec.message, sizeof rec.message, "%s", r->message);
    }
}

static inline void rec_reset(void) { memset(&rec, 0, sizeof rec); }

#endif
