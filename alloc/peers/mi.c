/*
 * peers/mi.c — backend `mi`: mimalloc (Debian's libmimalloc.so.2, 2.0.x).
 *
 * Loaded with dlopen (peer_loader.h), driven through mi_* entry points.
 * default_zone() is mimalloc as programs know it (per-thread default
 * heaps) and answers ownership with mi_is_in_heap_region().
 * create_zone() makes a private heap (mi_heap_new). mimalloc heaps belong
 * to the thread that created them: only that thread may allocate from
 * one (any thread may free), so instance zones do not claim thread
 * safety. mi_heap_destroy() discards every block of the heap, but the
 * pages stay in mimalloc's segment cache, so destroy-releases is not
 * claimed either. mimalloc's release build detects no misuse reliably.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mallet/mallet.h"
#include "peers/peer_loader.h"

#ifndef MALLET_MI_PATH
#define MALLET_MI_PATH "libmimalloc.so.2"
#endif

extern const mallet_backend_t mallet_backend_mi;

static mallet_peer_lib_t lib = MALLET_PEER_LIB_INIT("mi", "MALLET_MI_LIBRARY", MALLET_MI_PATH, "libmimalloc2.0");

typedef struct mi_heap_s mi_heap_t;
static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    void (*free_size)(void *, size_t);
    void *(*malloc_aligned)(size_t, size_t);
    size_t (*usable_size)(const void *);
    size_t (*good_size)(size_t);
    bool (*is_in_heap_region)(const void *);
    void (*collect)(bool);
    int (*version)(void);
    void (*process_info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *);
    mi_heap_t *(*heap_new)(void);
    void (*heap_destroy)(mi_heap_t *);
    void *(*heap_malloc)(mi_heap_t *, size_t);
    void *(*heap_calloc)(mi_heap_t *, size_t, size_t);
    void *(*heap_realloc)(mi_heap_t *, void *, size_t);
    void *(*heap_malloc_aligned)(mi_heap_t *, size_t, size_t);
    bool (*heap_check_owned)(mi_heap_t *, const void *);
    void (*heap_collect)(mi_heap_t *, bool);
} mi;

static int resolve_all(void)
{
    static const struct { const char *name; size_t off; } syms[] = {
#define S(f) {"mi_" #f, offsetof(__typeof__(mi), f)}
        S(malloc), S(calloc), S(realloc), S(free), S(free_size), S(malloc_aligned), S(usable_size),
        S(good_size), S(is_in_heap_region), S(collect), S(version), S(process_info), S(heap_new),
        S(heap_destroy), S(heap_malloc), S(heap_calloc), S(heap_realloc), S(heap_malloc_aligned),
        S(heap_check_owned), S(heap_collect),
#undef S
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
        if (mallet_peer_sym(&lib, syms[i].name, (void **)((char *)&mi + syms[i].off)) != 0)
            return ENOENT;
    return 0;
}

typedef struct mi_zone {
    mallet_zone_t z;
    mi_heap_t *heap; /* NULL: the default zone */
} mi_zone_t;
#define MZ(zone) ((mi_zone_t *)(zone))

/* ---- the default zone: mimalloc's global API ---------------------------- */
static size_t mid_size(mallet_zone_t *z, const void *p)
{
    (void)z;
    return mi.is_in_heap_region(p) ? mi.usable_size(p) : 0;
}
static void *mid_malloc(mallet_zone_t *z, size_t n) { (void)z; return mi.malloc(n); }
static void *mid_calloc(mallet_zone_t *z, size_t c, size_t n) { (void)z; return mi.calloc(c, n); }
static void *mid_realloc(mallet_zone_t *z, void *p, size_t n) { (void)z; return mi.realloc(p, n); }
static void *mid_memalign(mallet_zone_t *z, size_t a, size_t n) { (void)z; return mi.malloc_aligned(n, a); }
static void *mid_valloc(mallet_zone_t *z, size_t n) { (void)z; return mi.malloc_aligned(n, mallet_os_page_size()); }
static bool mid_claimed(mallet_zone_t *z, void *p) { (void)z; return mi.is_in_heap_region(p); }

/* ---- instance zones: a private heap -------------------------------------- */
static size_t mih_size(mallet_zone_t *z, const void *p)
{
    return mi.heap_check_owned(MZ(z)->heap, p) ? mi.usable_size(p) : 0;
}
static void *mih_malloc(mallet_zone_t *z, size_t n) { return mi.heap_malloc(MZ(z)->heap, n); }
static void *mih_calloc(mallet_zone_t *z, size_t c, size_t n) { return mi.heap_calloc(MZ(z)->heap, c, n); }
static void *mih_realloc(mallet_zone_t *z, void *p, size_t n) { return mi.heap_realloc(MZ(z)->heap, p, n); }
static void *mih_memalign(mallet_zone_t *z, size_t a, size_t n) { return mi.heap_malloc_aligned(MZ(z)->heap, n, a); }
static void *mih_valloc(mallet_zone_t *z, size_t n) { return mi.heap_malloc_aligned(MZ(z)->heap, n, mallet_os_page_size()); }
static bool mih_claimed(mallet_zone_t *z, void *p) { return mi.heap_check_owned(MZ(z)->heap, p); }

/* ---- shared --------------------------------------------------------------- */
static void mi_zfree(mallet_zone_t *z, void *p) { (void)z; mi.free(p); }
static void mi_zfree_size(mallet_zone_t *z, void *p, size_t n) { (void)z; mi.free_size(p, n); }
static size_t mi_zgood_size(mallet_zone_t *z, size_t n) { (void)z; return mi.good_size(n); }

static size_t mi_rss(void)
{
    size_t elapsed, user, sys, rss = 0, peak_rss, commit, peak_commit, faults;
    mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    return rss;
}

static size_t mi_zpressure_relief(mallet_zone_t *z, size_t goal)
{
    (void)goal;
    size_t before = mallet_os_rss();
    if (MZ(z)->heap)
        mi.heap_collect(MZ(z)->heap, true);
    else
        mi.collect(true);
    size_t after = mallet_os_rss();
    return before > after ? before - after : 0;
}

static void mi_zstatistics(mallet_zone_t *z, mallet_zone_stats_t *s)
{
    (void)z;
    size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
    mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    s->size_allocated = commit; /* process-wide: mimalloc keeps no per-heap byte count */
}

static void mi_zprint(mallet_zone_t *z, int fd, bool verbose)
{
    (void)verbose;
    mallet_os_printf(fd, "mi zone %s: process RSS per mimalloc %zu bytes\n", z->zone_name, mi_rss());
}

static void mi_zdestroy(mallet_zone_t *z)
{
    if (MZ(z)->heap == NULL)
        return;
    mi.heap_destroy(MZ(z)->heap);
    mallet_os_unmap(z, mallet_os_page_size());
}

static const mallet_zone_introspection_t mi_introspection = {
    .good_size = mi_zgood_size,
    .print = mi_zprint,
    .statistics = mi_zstatistics,
};

static int mi_available(char *why, size_t len)
{
    return mallet_peer_available(&lib, resolve_all, why, len);
}

static const char *mi_zversion(void)
{
    static char buf[32];
    if (!buf[0] && mi_available(NULL, 0) == 0) {
        int v = mi.version();
        snprintf(buf, sizeof buf, "mimalloc %d.%d.%d", v / 100, (v / 10) % 10, v % 10);
    }
    return buf[0] ? buf : "unknown";
}

static mi_zone_t default_mi;

static mallet_zone_t *mi_default_zone(void)
{
    if (mi_available(NULL, 0) != 0)
        return NULL;
    if (default_mi.z.malloc == NULL) {
        mallet_zone_t z = {
            .size = mid_size, .malloc = mid_malloc, .calloc = mid_calloc, .valloc = mid_valloc,
            .free = mi_zfree, .realloc = mid_realloc, .destroy = mi_zdestroy, .zone_name = "mi",
            .introspect = &mi_introspection, .version = 10, .memalign = mid_memalign,
            .free_definite_size = mi_zfree_size, .pressure_relief = mi_zpressure_relief,
            .claimed_address = mid_claimed, .backend = &mallet_backend_mi, .caps = mallet_backend_mi.caps,
        };
        default_mi.z = z;
    }
    return &default_mi.z;
}

static mallet_zone_t *mi_create_zone(const char *options, char *err, size_t errlen)
{
    if (options && *options) {
        snprintf(err, errlen, "backend mi takes no options (got '%s'); tune mimalloc with MIMALLOC_* variables", options);
        errno = EINVAL;
        return NULL;
    }
    if (mi_available(err, errlen) != 0) {
        errno = ENOENT;
        return NULL;
    }
    mi_heap_t *h = mi.heap_new();
    mi_zone_t *mz = h ? mallet_os_map(NULL, mallet_os_page_size(), MALLET_PROT_RW) : NULL;
    if (mz == NULL) {
        snprintf(err, errlen, "mimalloc: cannot create a heap");
        errno = ENOMEM;
        return NULL;
    }
    mallet_zone_t z = {
        .size = mih_size, .malloc = mih_malloc, .calloc = mih_calloc, .valloc = mih_valloc,
        .free = mi_zfree, .realloc = mih_realloc, .destroy = mi_zdestroy, .zone_name = "mi-heap",
        .introspect = &mi_introspection, .version = 10, .memalign = mih_memalign,
        .free_definite_size = mi_zfree_size, .pressure_relief = mi_zpressure_relief,
        .claimed_address = mih_claimed, .backend = &mallet_backend_mi,
        .caps = MALLET_CAP_INSTANCES | MALLET_CAP_OWNERSHIP | MALLET_CAP_PRESSURE_RELIEF |
                MALLET_CAP_FREE_DEFINITE_SIZE,
    };
    mz->z = z;
    mz->heap = h;
    return &mz->z;
}

const mallet_backend_t mallet_backend_mi = {
    .id = "mi",
    .description = "mimalloc, loaded privately (mi_* API); instances are thread-bound heaps",
    .is_peer = true,
    .caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_OWNERSHIP |
            MALLET_CAP_PRESSURE_RELIEF | MALLET_CAP_FREE_DEFINITE_SIZE | MALLET_CAP_PRELOAD,
    .version = mi_zversion,
    .available = mi_available,
    .create_zone = mi_create_zone,
    .default_zone = mi_default_zone,
};
