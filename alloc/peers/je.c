/*
 * peers/je.c — backend `je`: jemalloc (Debian's libjemalloc.so.2, 5.3).
 *
 * Loaded with dlopen (peer_loader.h) and driven through its non-standard
 * API: mallocx/rallocx/dallocx/sdallocx/sallocx/nallocx/mallctl. Debian's
 * build has no je_ prefix, so these are the plain names.
 *
 * default_zone() is jemalloc as programs know it (automatic arenas,
 * thread caches) — what libmallet.so and the benchmarks use.
 * create_zone() makes an independent arena ("arenas.create") used without
 * a thread cache, so its blocks cannot leak into other zones; destroy()
 * discards it with "arena.<i>.destroy". jemalloc's release build detects
 * no misuse reliably, so no detection capability is claimed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mallet/mallet.h"
#include "peers/peer_loader.h"

#ifndef MALLET_JE_PATH
#define MALLET_JE_PATH "libjemalloc.so.2"
#endif

/* From jemalloc.h (not included: it would declare a second malloc). */
#define JE_MALLOCX_LG_ALIGN(la) ((int)(la))
#define JE_MALLOCX_ZERO ((int)0x40)
#define JE_MALLOCX_TCACHE_NONE ((int)((-1 + 2) << 8))
#define JE_MALLOCX_ARENA(a) ((((int)(a)) + 1) << 20)

extern const mallet_backend_t mallet_backend_je;

static mallet_peer_lib_t lib = MALLET_PEER_LIB_INIT("je", "MALLET_JE_LIBRARY", MALLET_JE_PATH, "libjemalloc2");

static struct {
    void *(*mallocx)(size_t, int);
    void *(*rallocx)(void *, size_t, int);
    void (*dallocx)(void *, int);
    void (*sdallocx)(void *, size_t, int);
    size_t (*sallocx)(const void *, int);
    size_t (*nallocx)(size_t, int);
    int (*mallctl)(const char *, void *, size_t *, void *, size_t);
} je;

static int resolve_all(void)
{
    int rc = 0;
    rc |= mallet_peer_sym(&lib, "mallocx", (void **)&je.mallocx);
    rc |= mallet_peer_sym(&lib, "rallocx", (void **)&je.rallocx);
    rc |= mallet_peer_sym(&lib, "dallocx", (void **)&je.dallocx);
    rc |= mallet_peer_sym(&lib, "sdallocx", (void **)&je.sdallocx);
    rc |= mallet_peer_sym(&lib, "sallocx", (void **)&je.sallocx);
    rc |= mallet_peer_sym(&lib, "nallocx", (void **)&je.nallocx);
    rc |= mallet_peer_sym(&lib, "mallctl", (void **)&je.mallctl);
    return rc ? ENOENT : 0;
}

typedef struct je_zone {
    mallet_zone_t z;
    int flags;       /* MALLOCX_ARENA | TCACHE_NONE for instances, 0 for the default */
    unsigned arena;
    bool is_default;
} je_zone_t;

#define JZ(zone) ((je_zone_t *)(zone))

static int lg(size_t a)
{
    return ffsl((long)a) - 1;
}

static size_t je_size(mallet_zone_t *z, const void *p) { return je.sallocx(p, JZ(z)->flags); }
static void *je_malloc(mallet_zone_t *z, size_t n) { return je.mallocx(n ? n : 1, JZ(z)->flags); }
static void *je_calloc(mallet_zone_t *z, size_t c, size_t n)
{
    size_t t = c * n; /* the front end checked for overflow */
    return je.mallocx(t ? t : 1, JZ(z)->flags | JE_MALLOCX_ZERO);
}
static void *je_memalign(mallet_zone_t *z, size_t a, size_t n)
{
    return je.mallocx(n ? n : 1, JZ(z)->flags | JE_MALLOCX_LG_ALIGN(lg(a)));
}
static void *je_valloc(mallet_zone_t *z, size_t n) { return je_memalign(z, mallet_os_page_size(), n); }
static void je_free(mallet_zone_t *z, void *p) { je.dallocx(p, JZ(z)->flags); }
static void *je_realloc(mallet_zone_t *z, void *p, size_t n)
{
    if (n == 0) { /* jemalloc 5.3's default (opt.zero_realloc:free), as glibc */
        je.dallocx(p, JZ(z)->flags);
        return NULL;
    }
    return je.rallocx(p, n, JZ(z)->flags);
}
/* sdallocx needs the size class the block really has: a block from
 * memalign or a shrinking realloc may sit in a larger class than n. */
static void je_free_definite_size(mallet_zone_t *z, void *p, size_t n)
{
    int f = JZ(z)->flags;
    if (je.nallocx(n ? n : 1, f) == je.sallocx(p, f))
        je.sdallocx(p, n ? n : 1, f);
    else
        je.dallocx(p, f);
}

static size_t read_stat(const char *name)
{
    uint64_t epoch = 1;
    size_t len = sizeof epoch, v = 0, vlen = sizeof v;
    je.mallctl("epoch", &epoch, &len, &epoch, sizeof epoch);
    if (je.mallctl(name, &v, &vlen, NULL, 0) != 0)
        return 0;
    return v;
}

static size_t je_pressure_relief(mallet_zone_t *z, size_t goal)
{
    (void)goal;
    char name[64];
    size_t before = read_stat("stats.resident");
    if (JZ(z)->is_default)
        snprintf(name, sizeof name, "arena.4096.purge"); /* MALLCTL_ARENAS_ALL */
    else
        snprintf(name, sizeof name, "arena.%u.purge", JZ(z)->arena);
    je.mallctl(name, NULL, NULL, NULL, 0);
    size_t after = read_stat("stats.resident");
    return before > after ? before - after : 0;
}

static size_t je_good_size(mallet_zone_t *z, size_t n) { return je.nallocx(n ? n : 1, JZ(z)->flags); }

static void je_statistics(mallet_zone_t *z, mallet_zone_stats_t *s)
{
    char name[96];
    if (JZ(z)->is_default) {
        s->size_in_use = read_stat("stats.allocated");
        s->size_allocated = read_stat("stats.mapped");
        return;
    }
    snprintf(name, sizeof name, "stats.arenas.%u.small.allocated", JZ(z)->arena);
    s->size_in_use = read_stat(name);
    snprintf(name, sizeof name, "stats.arenas.%u.large.allocated", JZ(z)->arena);
    s->size_in_use += read_stat(name);
    snprintf(name, sizeof name, "stats.arenas.%u.mapped", JZ(z)->arena);
    s->size_allocated = read_stat(name);
}

static void je_print(mallet_zone_t *z, int fd, bool verbose)
{
    mallet_zone_stats_t s = {0};
    (void)verbose;
    je_statistics(z, &s);
    mallet_os_printf(fd, "je zone %s: %zu bytes allocated, %zu bytes mapped\n", z->zone_name,
                     s.size_in_use, s.size_allocated);
}

static void je_destroy(mallet_zone_t *z)
{
    je_zone_t *jz = JZ(z);
    if (jz->is_default)
        return;
    char name[64];
    snprintf(name, sizeof name, "arena.%u.destroy", jz->arena);
    je.mallctl(name, NULL, NULL, NULL, 0);
    mallet_os_unmap(jz, mallet_os_page_size());
}

static const mallet_zone_introspection_t je_introspection = {
    .good_size = je_good_size,
    .print = je_print,
    .statistics = je_statistics,
};

static const mallet_zone_t je_template = {
    .size = je_size,
    .malloc = je_malloc,
    .calloc = je_calloc,
    .valloc = je_valloc,
    .free = je_free,
    .realloc = je_realloc,
    .destroy = je_destroy,
    .introspect = &je_introspection,
    .version = 10,
    .memalign = je_memalign,
    .free_definite_size = je_free_definite_size,
    .pressure_relief = je_pressure_relief,
};

static int je_available(char *why, size_t len)
{
    return mallet_peer_available(&lib, resolve_all, why, len);
}

static const char *je_version(void)
{
    static char buf[64];
    const char *v = NULL;
    size_t len = sizeof v;
    if (!buf[0] && je_available(NULL, 0) == 0 && je.mallctl("version", &v, &len, NULL, 0) == 0 && v)
        snprintf(buf, sizeof buf, "jemalloc %.*s", (int)strcspn(v, "-"), v);
    return buf[0] ? buf : "unknown";
}

static je_zone_t default_je;

static mallet_zone_t *je_default_zone(void)
{
    if (je_available(NULL, 0) != 0)
        return NULL;
    if (default_je.z.malloc == NULL) {
        je_zone_t d = {.z = je_template, .flags = 0, .is_default = true};
        d.z.zone_name = "je";
        d.z.backend = &mallet_backend_je;
        d.z.caps = mallet_backend_je.caps;
        default_je = d;
    }
    return &default_je.z;
}

static mallet_zone_t *je_create_zone(const char *options, char *err, size_t errlen)
{
    if (options && *options) {
        snprintf(err, errlen, "backend je takes no options (got '%s'); tune jemalloc with MALLOC_CONF", options);
        errno = EINVAL;
        return NULL;
    }
    if (je_available(err, errlen) != 0) {
        errno = ENOENT;
        return NULL;
    }
    unsigned arena;
    size_t len = sizeof arena;
    if (je.mallctl("arenas.create", &arena, &len, NULL, 0) != 0) {
        snprintf(err, errlen, "jemalloc: arenas.create failed");
        errno = ENOMEM;
        return NULL;
    }
    je_zone_t *jz = mallet_os_map(NULL, mallet_os_page_size(), MALLET_PROT_RW);
    if (jz == NULL) {
        snprintf(err, errlen, "out of memory for the zone");
        return NULL;
    }
    jz->z = je_template;
    jz->z.zone_name = "je-arena";
    jz->z.backend = &mallet_backend_je;
    jz->z.caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_PRESSURE_RELIEF |
                 MALLET_CAP_FREE_DEFINITE_SIZE;
    jz->arena = arena;
    jz->flags = JE_MALLOCX_ARENA(arena) | JE_MALLOCX_TCACHE_NONE;
    return &jz->z;
}

const mallet_backend_t mallet_backend_je = {
    .id = "je",
    .description = "jemalloc, loaded privately (mallocx API); instances are arenas",
    .is_peer = true,
    .caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_PRESSURE_RELIEF |
            MALLET_CAP_FREE_DEFINITE_SIZE | MALLET_CAP_PRELOAD,
    .version = je_version,
    .available = je_available,
    .create_zone = je_create_zone,
    .default_zone = je_default_zone,
};
