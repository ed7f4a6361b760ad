/*
 * harness/security/security.h — the misuse matrix (`mallet security`).
 *
 * One small case per heap bug (double free, invalid frees, use-after-free
 * writes, overflows, realloc of a freed block, impossible sizes and bad
 * alignments). Each case runs in its own child process with the recording
 * error handler installed; the child writes what it saw into a shared
 * page, and its stderr goes up a pipe, so the parent can classify even a
 * child that crashed:
 *   detected     the backend reported through mallet's error path (kind +
 *                message), or check() caught it afterwards;
 *   detected (abort: <first stderr line>)  a peer aborted with its message;
 *   crashed      killed by a signal without a message (or hung: SIGALRM);
 *   silent       survived; "overlap" / "attacker-chosen" when a later
 *                allocation returned a block overlapping a live one or at
 *                an address the "attacker" planted;
 *   null+errno   the call returned NULL (or an error code) with errno.
 * Each outcome is then held against the zone's capability flags.
 */
#ifndef MALLET_SECURITY_H
#define MALLET_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mallet/mallet.h"

/* What a case is about: picks the capability flag it is held to. */
typedef enum sec_category {
    SEC_DOUBLE_FREE,    /* MALLET_CAP_DETECT_DOUBLE_FREE: must be detected */
    SEC_DOUBLE_FREE_IMMEDIATE, /* the second free right after the first: must be detected
                                * under DETECT_DOUBLE_FREE or DETECT_DOUBLE_FREE_IMMEDIATE */
    SEC_INVALID_FREE,   /* MALLET_CAP_DETECT_INVALID_FREE: must be detected */
    SEC_FREELIST,       /* MALLET_CAP_DETECT_FREELIST_CORRUPTION: detected or harmless */
    SEC_HEADER,         /* MALLET_CAP_DETECT_HEADER_CORRUPTION: detected if a header was hit */
    SEC_HEADER_SOFT,    /* MALLET_CAP_DETECT_HEADER_CORRUPTION: detected or harmless */
    SEC_REALLOC,        /* MALLET_CAP_DETECT_INVALID_REALLOC: must be detected */
    SEC_FRONTEND,       /* every backend: NULL/error code with the expected errno */
} sec_category_t;

typedef enum sec_outcome {
    OUT_DETECTED,        /* via the error path (handler) */
    OUT_DETECTED_CHECK,  /* check() found it afterwards */
    OUT_DETECTED_ABORT,  /* the allocator aborted with its own message */
    OUT_CRASHED,
    OUT_HUNG,
    OUT_SILENT,
    OUT_SILENT_OVERLAP,
    OUT_SILENT_ATTACKER,
    OUT_NULL_ERRNO,
    OUT_NOT_RUN,         /* the case's preconditions could not be set up */
} sec_outcome_t;

/* Written by the child into a MAP_SHARED page. */
typedef struct sec_shared {
    unsigned nreports;
    struct {
        int kind;
        char msg[200];
    } rep[4];
    int finished;          /* the case ran to its end */
    int returned_null;     /* the final call returned NULL / an error code */
    int err;               /* its errno / error code */
    int overlap, attacker; /* follow-up allocations misbehaved */
    int check_failed;      /* check() returned 0 */
    int not_run;
    int no_header;         /* overflow found no bytes between the blocks */
    char note[200];
    char step[64];         /* last step entered (for crashes) */
    uint64_t zone_caps;    /* the zone's effective MALLET_CAP_* */
    uint64_t zone_dfi_max; /* the zone's double_free_immediate_max */
} sec_shared_t;

typedef struct sec_ctx {
    mallet_zone_t *z;
    sec_shared_t *sh;
} sec_ctx_t;

typedef struct sec_case {
    const char *name;
    const char *what;
    sec_category_t cat;
    int expect_errno;      /* SEC_FRONTEND: required errno */
    void (*run)(sec_ctx_t *c);
    size_t bytes;          /* SEC_DOUBLE_FREE_IMMEDIATE: the size freed twice */
} sec_case_t;

/* One classified and judged outcome. */
typedef struct sec_result {
    const sec_case_t *c;
    sec_outcome_t out;
    char detail[320];
    char promise[200];
    bool broken;          /* breaks a promise of the zone's capability flags */
    bool no_header;       /* overflow case: nothing between the blocks to hit */
    char abort_line[220]; /* OUT_DETECTED_ABORT: the allocator's message */
    size_t zone_dfi_max;  /* the zone's double_free_immediate_max (0 = every size) */
} sec_result_t;

/* Runs case c against backend b in a child; fills res (not yet judged)
 * and *zone_caps with the zone's effective capability flags. */
void sec_run_case(const mallet_backend_t *b, const sec_case_t *c, unsigned timeout, sec_result_t *res,
                  uint64_t *zone_caps);
/* Holds res to `caps` (security_main.c: promise rules); sets promise/broken. */
void sec_judge(sec_result_t *res, uint64_t caps, bool is_peer);

extern const sec_case_t sec_cases[];
extern const size_t sec_ncases;

const char *sec_outcome_name(sec_outcome_t o);

/* `mallet security` entry point. */
int security_main(int argc, char **argv);

#endif
