/*
 * peers/tc.c — backend `tc`: tcmalloc from gperftools (Debian's
 * libtcmalloc_minimal.so.4; libtcmalloc.so.4 also works).
 *
 * Loaded with dlopen (peer_loader.h), driven through tc_* entry points
 * and MallocExtension's C API for statistics. tcmalloc has one global
 * heap: no instances, and tc_malloc_size() on a foreign pointer is
 * undefined, so no ownership test. No misuse detection is claimed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mallet/mallet.h"
#include "peers/peer_loader.h"

#ifndef MALLET_TC_PATH
#define MALLET_TC_PATH "libtcmalloc_minimal.so.4"
#endif

extern const mallet_backend_t mallet_backend_tc;

static mallet_peer_lib_t lib = MALLET_PEER_LIB_INIT("tc", "MALLET_TC_LIBRARY", MALLET_TC_PATH,
                                                    "libgoogle-perftools-dev (libtcmalloc-minimal4)");

static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    void (*free_sized)(void *, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    size_t (*malloc_size)(void *);
    const char *(*version)(int *, int *, const char **);
    int (*get_property)(const char *, size_t *);
    void (*release_free_memory)(void);
} tc;

static int resolve_all(void)
{
    int rc = 0;
    rc |= mallet_peer_sym(&lib, "tc_malloc", (void **)&tc.malloc);
    rc |= mallet_peer_sym(&lib, "tc_calloc", (void **)&tc.calloc);
    rc |= mallet_peer_sym(&lib, "tc_realloc", (void **)&tc.realloc);
    rc |= mallet_peer_sym(&lib, "tc_free", (void **)&tc.free);
    rc |= mallet_peer_sym(&lib, "tc_free_sized", (void **)&tc.free_sized);
    rc |= mallet_peer_sym(&lib, "tc_memalign", (void **)&tc.memalign);
    rc |= mallet_peer_sym(&lib, "tc_valloc", (void **)&tc.valloc);
    rc |= mallet_peer_sym(&lib, "tc_malloc_size", (void **)&tc.malloc_size);
    rc |= mallet_peer_sym(&lib, "tc_version", (void **)&tc.version);
    rc |= mallet_peer_sym(&lib, "MallocExtension_GetNumericProperty", (void **)&tc.get_property);
    rc |= mallet_peer_sym(&lib, "MallocExtension_ReleaseFreeMemory", (void **)&tc.release_free_memory);
    return rc ? ENOENT : 0;
}

static size_t tc_zsize(mallet_zone_t *z, const void *p) { (void)z; return tc.malloc_size((void *)p); }
static void *tc_zmalloc(mallet_zone_t *z, size_t n) { (void)z; return tc.malloc(n); }
static void *tc_zcalloc(mallet_zone_t *z, size_t c, size_t n) { (void)z; return tc.calloc(c, n); }
static void *tc_zvalloc(mallet_zone_t *z, size_t n) { (void)z; return tc.valloc(n); }
static void tc_zfree(mallet_zone_t *z, void *p) { (void)z; tc.free(p); }
static void *tc_zrealloc(mallet_zone_t *z, void *p, size_t n) { (void)z; return tc.realloc(p, n); }
static void *tc_zmemalign(mallet_zone_t *z, size_t a, size_t n) { (void)z; return tc.memalign(a, n); }
/* gperftools' tc_free_sized uses the size for its size-class lookup, so
 * it is only safe when the block was allocated with exactly that size
 * class; a memalign'd or shrunk block may not be. Use it only when the
 * class of n is the block's class. */
static void tc_zfree_sized(mallet_zone_t *z, void *p, size_t n)
{
    (void)z;
    size_t have = tc.malloc_size(p);
    void *probe = NULL;
    (void)probe;
    if (n != 0 && n <= have && have - n < 16)
        tc.free_sized(p, n);
    else
        tc.free(p);
}
static void tc_zdestroy(mallet_zone_t *z) { (void)z; }

static size_t prop(const char *name)
{
    size_t v = 0;
    return tc.get_property(name, &v) ? v : 0;
}

static size_t tc_zpressure_relief(mallet_zone_t *z, size_t goal)
{
    (void)z; (void)goal;
    size_t before = prop("tcmalloc.pageheap_free_bytes");
    tc.release_free_memory();
    size_t after = prop("tcmalloc.pageheap_free_bytes");
    return before > after ? before - after : 0;
}

static void tc_zstatistics(mallet_zone_t *z, mallet_zone_stats_t *s)
{
    (void)z;
    s->size_in_use = prop("generic.current_allocated_bytes");
    s->size_allocated = prop("generic.heap_size");
}

static void tc_zprint(mallet_zone_t *z, int fd, bool verbose)
{
    mallet_zone_stats_t s = {0};
    (void)verbose;
    tc_zstatistics(z, &s);
    mallet_os_printf(fd, "tc: %zu bytes allocated, heap %zu bytes\n", s.size_in_use, s.size_allocated);
}

static const mallet_zone_introspection_t tc_introspection = {
    .print = tc_zprint,
    .statistics = tc_zstatistics,
};

static mallet_zone_t tc_zone = {
    .size = tc_zsize, .malloc = tc_zmalloc, .calloc = tc_zcalloc, .valloc = tc_zvalloc,
    .free = tc_zfree, .realloc = tc_zrealloc, .destroy = tc_zdestroy, .zone_name = "tc",
    .introspect = &tc_introspection, .version = 10, .memalign = tc_zmemalign,
    .free_definite_size = tc_zfree_sized, .pressure_relief = tc_zpressure_relief,
};

static int tc_available(char *why, size_t len)
{
    return mallet_peer_available(&lib, resolve_all, why, len);
}

static const char *tc_zversion(void)
{
    static char buf[48];
    if (!buf[0] && tc_available(NULL, 0) == 0) {
        int major = 0, minor = 0;
        const char *patch = "";
        tc.version(&major, &minor, &patch);
        snprintf(buf, sizeof buf, "gperftools %d.%d%s", major, minor, patch ? patch : "");
    }
    return buf[0] ? buf : "unknown";
}

static mallet_zone_t *tc_default_zone(void)
{
    if (tc_available(NULL, 0) != 0)
        return NULL;
    tc_zone.backend = &mallet_backend_tc;
    tc_zone.caps = mallet_backend_tc.caps;
    return &tc_zone;
}

static mallet_zone_t *tc_create_zone(const char *options, char *err, size_t errlen)
{
    if (options && *options) {
        snprintf(err, errlen, "backend tc takes no options (got '%s'); tune tcmalloc with TCMALLOC_* variables", options);
        errno = EINVAL;
        return NULL;
    }
    if (tc_available(err, errlen) != 0) {
        errno = ENOENT;
        return NULL;
    }
    return tc_default_zone();
}

const mallet_backend_t mallet_backend_tc = {
    .id = "tc",
    .description = "tcmalloc (gperftools), loaded privately (tc_* API), one global heap",
    .is_peer = true,
    .caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_PRESSURE_RELIEF | MALLET_CAP_PRELOAD,
    .version = tc_zversion,
    .available = tc_available,
    .create_zone = tc_create_zone,
    .default_zone = tc_default_zone,
};
