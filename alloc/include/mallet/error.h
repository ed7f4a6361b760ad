/*
 * mallet/error.h — the one error-reporting path.
 *
 * Every backend reports misuse and corruption here, with a kind, the
 * pointer and the original allocator's exact message text (glibc's
 * malloc_printerr strings, libmalloc's malloc_zone_error strings).
 *
 * Default behaviour is the originals': print to stderr in the backend's
 * style and abort(). Tests and fuzzers install a handler that records the
 * report instead. When a handler returns, the backend abandons the
 * operation safely: a free becomes a no-op (the block is leaked), an
 * allocation returns NULL with errno set, check() returns 0. The zone is
 * then considered poisoned: the only promise left is that destroy() works.
 */
#ifndef MALLET_ERROR_H
#define MALLET_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "mallet/zone.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mallet_error_kind {
    MALLET_ERR_DOUBLE_FREE = 1,      /* block already free */
    MALLET_ERR_INVALID_FREE,         /* never allocated, interior, foreign, stack... */
    MALLET_ERR_INVALID_REALLOC,      /* realloc of a pointer the zone did not hand out */
    MALLET_ERR_MISALIGNED_POINTER,   /* pointer not aligned to the allocator's quantum */
    MALLET_ERR_FREELIST_CORRUPTION,  /* free-list link/guard/checksum damaged */
    MALLET_ERR_HEADER_CORRUPTION,    /* chunk/block header or size field damaged */
    MALLET_ERR_METADATA_CORRUPTION,  /* region cookie, bitmap, arena state damaged */
    MALLET_ERR_SIZE_MISMATCH,        /* free_definite_size with the wrong size */
    MALLET_ERR_CHECK_FAILED,         /* introspect->check found an inconsistency */
    MALLET_ERR_INTERNAL,             /* assertion inside the allocator */
    MALLET_ERR_KIND_COUNT
} mallet_error_kind_t;

/* How the default handler prints a report. */
typedef enum mallet_error_style {
    MALLET_STYLE_PLAIN = 0,   /* "mallet(<backend>): <message>" */
    MALLET_STYLE_GLIBC,       /* "<message>\n" then abort, as malloc_printerr */
    MALLET_STYLE_LIBMALLOC,   /* "<prog>(<pid>,0x<tid>) malloc: <message>" +
                                 "*** set a breakpoint in malloc_error_break to debug" */
} mallet_error_style_t;

typedef struct mallet_error_report {
    mallet_error_kind_t kind;
    mallet_error_style_t style;
    bool is_corruption;            /* heap state is damaged (vs. plain misuse) */
    const char *backend_id;        /* "ptmalloc", "scalable", ... */
    const mallet_zone_t *zone;     /* may be NULL */
    const void *ptr;               /* the pointer involved, may be NULL */
    char message[480];             /* the original allocator's text, formatted */
} mallet_error_report_t;

typedef void (*mallet_error_handler_t)(const mallet_error_report_t *report,
                                       void *ctx);

/* Install a process-wide handler (NULL restores the default: print + abort).
 * Returns the previous one. */
mallet_error_handler_t mallet_error_set_handler(mallet_error_handler_t handler,
                                                void *ctx);

/* Report an error. `fmt` is the original allocator's message with printf
 * conversions. Returns only if a non-aborting handler is installed. */
void mallet_report(const mallet_zone_t *zone, const char *backend_id,
                   mallet_error_kind_t kind, mallet_error_style_t style,
                   bool is_corruption, const void *ptr, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Number of reports since process start (any handler). */
unsigned long mallet_error_count(void);
const char *mallet_error_kind_name(mallet_error_kind_t kind);

/* Called by the default handler before abort(); an empty function to set a
 * breakpoint on, like libmalloc's malloc_error_break. */
void mallet_error_break(void);

/* The default handler, exposed so a recording handler can chain to it. */
void mallet_error_default_handler(const mallet_error_report_t *report, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_ERROR_H */
