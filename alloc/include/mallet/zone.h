/*
 * mallet/zone.h — the one allocator interface every mallet backend implements.
 *
 * Modelled on Apple libmalloc's malloc_zone_t / malloc_introspection_t
 * (ALLOCATOR_REFERENCE.md §A.1, §A.2). Differences on purpose:
 *   - no reserved words, no Mach task/reader arguments (Linux has no task_t;
 *     enumeration walks the calling process only);
 *   - print() writes to a file descriptor, so it never allocates;
 *   - every zone carries its backend and its effective capability flags,
 *     which tests and fuzzers read to know what the zone promises.
 *
 * Callers normally go through the front end (mallet/mallet.h), which
 * validates arguments once for every backend. Backends may assume:
 * sizes are <= MALLET_MAX_REQUEST, calloc's product did not overflow,
 * alignments are powers of two >= sizeof(void *), and free() never sees NULL.
 */
#ifndef MALLET_ZONE_H
#define MALLET_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mallet_zone mallet_zone_t;
typedef struct mallet_backend mallet_backend_t;

/* Version of the zone struct. Optional members after `version` exist only
 * when the zone's version is at least the one noted (as in libmalloc). */
#define MALLET_ZONE_VERSION 16

/* A range handed to an enumerate() recorder. */
typedef struct mallet_range {
    uintptr_t address;
    size_t size;
} mallet_range_t;

/* Enumeration masks (libmalloc's MALLOC_PTR_IN_USE_RANGE_TYPE etc.). */
enum {
    MALLET_ENUM_BLOCKS = 1,  /* live blocks handed out to callers */
    MALLET_ENUM_REGIONS = 2, /* memory regions obtained from the OS */
    MALLET_ENUM_ADMIN = 4,   /* allocator metadata */
    MALLET_ENUM_ALL = 7,
};

/* Called with batches of at most 256 ranges of one type. */
typedef void (*mallet_range_recorder_t)(void *ctx, unsigned type,
                                        const mallet_range_t *ranges,
                                        unsigned count);

/* statistics(): libmalloc's malloc_statistics_t plus a version/size header. */
#define MALLET_STATS_VERSION 1
typedef struct mallet_zone_stats {
    uint32_t version;         /* MALLET_STATS_VERSION */
    uint32_t struct_size;     /* sizeof(mallet_zone_stats_t) */
    size_t blocks_in_use;     /* live blocks */
    size_t size_in_use;       /* bytes in live blocks (usable sizes) */
    size_t max_size_in_use;   /* peak of size_in_use, 0 if not tracked */
    size_t size_allocated;    /* bytes currently obtained from the OS */
} mallet_zone_stats_t;

typedef struct mallet_zone_introspection {
    /* Report live blocks / regions / admin memory through `recorder`.
     * Returns 0, or an errno value (ENOTSUP if the backend cannot). */
    int (*enumerate)(mallet_zone_t *zone, unsigned mask, void *ctx,
                     mallet_range_recorder_t recorder);
    /* Bytes really reserved for a request of n bytes. */
    size_t (*good_size)(mallet_zone_t *zone, size_t n);
    /* Full integrity walk. Returns nonzero when consistent. On the first
     * inconsistency it reports through the error path
     * (MALLET_ERR_CHECK_FAILED or a more precise kind) saying what is wrong
     * and where, then returns 0. */
    int (*check)(mallet_zone_t *zone);
    /* Human-readable dump to file descriptor fd. Must not allocate. */
    void (*print)(mallet_zone_t *zone, int fd, bool verbose);
    /* Fork support: take every lock / release / re-create in the child. */
    void (*force_lock)(mallet_zone_t *zone);
    void (*force_unlock)(mallet_zone_t *zone);
    void (*reinit_lock)(mallet_zone_t *zone);
    void (*statistics)(mallet_zone_t *zone, mallet_zone_stats_t *stats);
    /* True if any of the zone's locks is held (debuggers). May be NULL. */
    bool (*zone_locked)(mallet_zone_t *zone);
} mallet_zone_introspection_t;

struct mallet_zone {
    /* Usable size if the zone owns ptr, else 0. Fast for "not mine".
     * Backends without MALLET_CAP_OWNERSHIP cannot answer for foreign
     * pointers and may crash on them: only pass pointers they returned. */
    size_t (*size)(mallet_zone_t *zone, const void *ptr);
    void *(*malloc)(mallet_zone_t *zone, size_t n);
    void *(*calloc)(mallet_zone_t *zone, size_t count, size_t n);
    void *(*valloc)(mallet_zone_t *zone, size_t n);
    void (*free)(mallet_zone_t *zone, void *ptr);
    void *(*realloc)(mallet_zone_t *zone, void *ptr, size_t n);
    /* Return all of the zone's memory to the OS, including the zone itself.
     * Must work even after the heap was corrupted. */
    void (*destroy)(mallet_zone_t *zone);
    const char *zone_name;
    /* Best effort; returns how many of `count` were allocated (may be 0).
     * May be NULL: the front end then loops over malloc. */
    unsigned (*batch_malloc)(mallet_zone_t *zone, size_t n, void **results,
                             unsigned count);
    /* May be NULL: the front end then loops over free. */
    void (*batch_free)(mallet_zone_t *zone, void **ptrs, unsigned count);
    const mallet_zone_introspection_t *introspect;
    unsigned version;
    /* version >= 5. alignment: power of two >= sizeof(void *). */
    void *(*memalign)(mallet_zone_t *zone, size_t alignment, size_t n);
    /* version >= 6. The caller states the block's requested size. */
    void (*free_definite_size)(mallet_zone_t *zone, void *ptr, size_t n);
    /* version >= 8. Give memory back to the OS; goal 0 = as much as
     * possible. Returns the bytes released. */
    size_t (*pressure_relief)(mallet_zone_t *zone, size_t goal);
    /* version >= 10. False positives allowed, false negatives forbidden. */
    bool (*claimed_address)(mallet_zone_t *zone, void *ptr);

    /* mallet additions (always present). */
    const mallet_backend_t *backend;
    uint64_t caps;            /* effective MALLET_CAP_* for this instance */
    /* With MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE (and not the stronger
     * MALLET_CAP_DETECT_DOUBLE_FREE): the promise covers blocks of at most
     * this many requested bytes; 0 = every size. ptmalloc sets it to its
     * fastbin limit, as glibc's checks only catch every immediate double
     * free up to there (ptmalloc_tunables.c, pt_update_promises). */
    size_t double_free_immediate_max;
};

#ifdef __cplusplus
}
#endif
#endif /* MALLET_ZONE_H */
