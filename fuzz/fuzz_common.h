/*
 * fuzz/fuzz_common.h — what the allocator fuzz targets share: picking a
 * backend from the registry, the recording error handler, and the shadow
 * model that executes decoded instructions (fuzz_ops.h) on one zone and
 * checks everything the zone API defines.
 *
 * A failed check calls fz_fail(), which prints what broke and abort()s:
 * that is the "crash" libFuzzer/AFL++ record and replay_main reports.
 */
#ifndef MALLET_FUZZ_COMMON_H
#define MALLET_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mallet/mallet.h"
#include "fuzz_ops.h"

/* ---- failure ----------------------------------------------------------- */
__attribute__((noreturn, format(printf, 1, 2))) void fz_fail(const char *fmt, ...);
/* Verbose tracing of executed ops to stderr when MALLET_FUZZ_VERBOSE=1. */
extern int fz_verbose;

/* ---- backends ----------------------------------------------------------- */
/* Backends compiled in and usable here, in registry order, optionally
 * limited by MALLET_FUZZ_BACKENDS="je,mi". Computed once. */
size_t fz_backend_count(void);
const mallet_backend_t *fz_backend(size_t i);
/* Usable backends whose default caps include all of `need`. Returns how
 * many were written to out (at most max). */
size_t fz_backends_with(uint64_t need, const mallet_backend_t **out, size_t max);

/* A zone for one input: a fresh instance when the backend has
 * MALLET_CAP_INSTANCES, else its default zone. fz_zone_close destroys
 * instances (the caller must have freed everything in shared zones). */
mallet_zone_t *fz_zone_open(const mallet_backend_t *b, bool *is_instance);
void fz_zone_close(mallet_zone_t *z, bool is_instance);

/* ---- error path ------------------------------------------------------- */
typedef struct fz_errors {
    unsigned long count;
    mallet_error_report_t first;
} fz_errors_t;
extern fz_errors_t fz_errors;
/* Installs the recording handler (once) and clears the record. */
void fz_errors_reset(void);
/* Start of one input of a zone-driving target, before any zone is opened:
 * clears the error record and seeds mallet's entropy from the input's
 * bytes (mallet_os_random_fuzz_seed), so the same input draws the same
 * cookies, keys and brk slide every time it runs. */
void fz_input_begin(const uint8_t *data, size_t size);

/* ---- shadow model -------------------------------------------------------- */
typedef struct fz_block {
    uint8_t *p;
    size_t req;      /* requested bytes */
    size_t usable;   /* mallet_size() at allocation */
    uint32_t seed;   /* pattern over [0, usable) */
} fz_block_t;

typedef struct fz_run {
    mallet_zone_t *z;
    uint64_t caps;
    fz_block_t slot[FZ_MAX_SLOTS];
    size_t live_bytes;       /* sum of req over live slots */
    unsigned ops;            /* instructions executed */
    unsigned handoffs;       /* threads started for this input */
    unsigned check_every;    /* check() period (CAP_CHECK zones) */
    bool misuse;             /* misuse target: allow overlap-free poisoned states */
} fz_run_t;

typedef enum fz_status { FZ_SKIPPED = 0, FZ_OK, FZ_NULL } fz_status_t;

typedef struct fz_outcome {
    fz_status_t status;
    int err;          /* errno after a refused request */
    unsigned got;     /* batch_malloc: blocks returned */
} fz_outcome_t;

void fz_run_init(fz_run_t *r, mallet_zone_t *z);
/* Executes one instruction with every check. Misuse ops are executed as
 * plain frees/no-ops here (the misuse target handles them itself). */
fz_outcome_t fz_exec(fz_run_t *r, const fz_inst_t *in);
/* Verifies and frees every live block, then a final check(). */
void fz_run_finish(fz_run_t *r);

/* Helpers the misuse target reuses. */
void fz_verify_block(fz_run_t *r, unsigned s, const char *when);
void fz_free_slot(fz_run_t *r, unsigned s);
/* Index of a live slot overlapping [p, p+n), or -1. `except` is skipped. */
int fz_find_overlap(const fz_run_t *r, const void *p, size_t n, int except);
void fz_zone_check(fz_run_t *r, const char *when);

/* mimalloc 2.0.9 misaligns some memalign results (microsoft/mimalloc#700),
 * recorded as a known peer defect in tests/conformance too. */
bool fz_known_misalign(const mallet_zone_t *z, size_t align, size_t n);



/* ---- misuse (misuse_core.c) and the toy zone (toy_zone.c) ---------------- */
/* Runs one misuse input (instructions after the backend byte) on z, a fresh
 * zone with MALLET_CAP_INSTANCES|MALLET_CAP_DESTROY_RELEASES, and destroys
 * it. abort()s on a missed detection, a silent overlap or a false report. */
void fz_misuse_input(mallet_zone_t *z, const uint8_t *data, size_t size);
/* A deliberately small checked allocator, never registered: headers with
 * magic words, guarded free-list links, a block-start bitmap and check().
 * weak_double_free = the seeded bug: free() forgets to look for double
 * frees although the zone still claims MALLET_CAP_DETECT_DOUBLE_FREE. */
mallet_zone_t *fz_toy_zone_create(bool weak_double_free);
#endif /* MALLET_FUZZ_COMMON_H */
