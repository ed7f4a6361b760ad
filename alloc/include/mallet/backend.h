/*
 * mallet/backend.h — backend descriptors, capability flags and the registry.
 *
 * A backend is a named factory of zones. Its ID is stable: users script
 * against `nano`, `scalable`, `ptmalloc`, `sys`, `je`, `mi`, `tc`.
 * Capability flags are promises: tests, the misuse matrix and the fuzzers
 * hold every backend to exactly what it claims here, no more.
 */
#ifndef MALLET_BACKEND_H
#define MALLET_BACKEND_H

#include <stdio.h>

#include "mallet/zone.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capability flags. Keep mallet_cap_name() in core/registry.c in sync. */
enum {
    MALLET_CAP_THREAD_SAFE = 1u << 0,       /* zone usable from many threads */
    MALLET_CAP_INSTANCES = 1u << 1,         /* create_zone gives independent zones */
    MALLET_CAP_DESTROY_RELEASES = 1u << 2,  /* destroy() returns all memory, even corrupted */
    MALLET_CAP_OWNERSHIP = 1u << 3,         /* size()/claimed_address() safe on foreign ptrs */
    MALLET_CAP_DETECT_DOUBLE_FREE = 1u << 4,     /* every double free is reported */
    MALLET_CAP_DETECT_INVALID_FREE = 1u << 5,    /* free of a never-allocated/interior/foreign ptr */
    MALLET_CAP_DETECT_FREELIST_CORRUPTION = 1u << 6, /* use-after-free writes to free-list links */
    MALLET_CAP_DETECT_HEADER_CORRUPTION = 1u << 7,   /* overflow into a neighbour's header */
    MALLET_CAP_CHECK = 1u << 8,             /* introspect->check is a real integrity walk */
    MALLET_CAP_ENUMERATE = 1u << 9,         /* introspect->enumerate reports live blocks */
    MALLET_CAP_STATISTICS = 1u << 10,       /* introspect->statistics is exact */
    MALLET_CAP_BATCH = 1u << 11,            /* native batch_malloc/batch_free */
    MALLET_CAP_PRESSURE_RELIEF = 1u << 12,  /* pressure_relief really returns memory */
    MALLET_CAP_FREE_DEFINITE_SIZE = 1u << 13, /* native sized free */
    MALLET_CAP_PRELOAD = 1u << 14,          /* usable as the process malloc via libmallet.so */
    MALLET_CAP_DETECT_INVALID_REALLOC = 1u << 15, /* realloc of freed/foreign ptr reported */
    /* A free() of the block freed by the zone's previous call is reported
     * (glibc's tcache-key and fasttop checks), for blocks of at most
     * zone->double_free_immediate_max requested bytes (0 = any). Weaker than
     * DETECT_DOUBLE_FREE, which implies it for every size; backends
     * claiming that claim this too. */
    MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE = 1u << 16,
    MALLET_CAP_COUNT = 17
};

/* Backend-specific drop-in extras (glibc's and Apple's extra entry points).
 * Any member may be NULL; libmallet.so then falls back to a neutral answer. */
struct mallinfo2;
typedef struct mallet_dropin_extras {
    int (*mallopt)(int param, int value);
    int (*malloc_trim)(size_t pad);
    struct mallinfo2 (*mallinfo2)(void);
    void (*malloc_stats)(void);
    int (*malloc_info)(int options, FILE *fp);
} mallet_dropin_extras_t;

struct mallet_backend {
    const char *id;           /* stable short ID: "nano", "je", ... */
    const char *description;  /* one line for listings */
    bool is_peer;             /* wraps an external allocator */
    uint64_t caps;            /* default capabilities (zones may differ by option) */
    /* Version string of the implementation (peer library version for peers). */
    const char *(*version)(void);
    /* 0 if usable; otherwise fills `why` (e.g. "not installed:
     * libjemalloc.so.2 not found") and returns an errno value. */
    int (*available)(char *why, size_t whylen);
    /* A new zone configured by `options` ("key=value:key=value", NULL or ""
     * for defaults plus the environment). Backends without
     * MALLET_CAP_INSTANCES return their one global zone. On failure returns
     * NULL, sets errno and writes a message into err. */
    mallet_zone_t *(*create_zone)(const char *options, char *err, size_t errlen);
    /* The process-wide zone used by libmallet.so (configured from the
     * environment only). Created on first call; never destroyed. */
    mallet_zone_t *(*default_zone)(void);
    /* Prints the backend's options (name, default, description). May be NULL. */
    void (*print_options)(int fd);
    const mallet_dropin_extras_t *extras; /* may be NULL */
};

/* ---- registry ---------------------------------------------------------- */

/* Every backend mallet knows, built or not, in listing order. */
size_t mallet_backend_count(void);
const mallet_backend_t *mallet_backend_at(size_t i);
/* NULL if the ID is unknown (errno ENOENT) or known but not compiled in
 * (errno ENOSYS). */
const mallet_backend_t *mallet_backend_find(const char *id);
/* Known IDs, including ones not compiled into this build. */
bool mallet_backend_id_is_known(const char *id);
const char *mallet_cap_name(unsigned bit);
/* Writes "thread-safe,instances,..." into buf. */
void mallet_caps_format(uint64_t caps, char *buf, size_t len);

/* Zone registration (libmalloc's malloc_zone_register / unregister /
 * malloc_zone_from_ptr). Only zones whose backend has MALLET_CAP_OWNERSHIP
 * take part in pointer lookup. Returns 0 or an errno value. */
int mallet_zone_register(mallet_zone_t *zone);
int mallet_zone_unregister(mallet_zone_t *zone);
mallet_zone_t *mallet_zone_from_ptr(const void *ptr);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_BACKEND_H */
