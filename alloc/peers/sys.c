/*
 * peers/sys.c — backend `sys`: the C library's allocator (glibc on Debian).
 *
 * Calls glibc's __libc_* entry points rather than malloc/free: inside
 * libmallet.so the names malloc/free are mallet's own exports, so calling
 * them would recurse. malloc_usable_size and mallinfo2 are looked up with
 * dlsym(RTLD_NEXT) for the same reason.
 *
 * glibc has one process-wide heap: no instances, no ownership test (its
 * malloc_usable_size on a foreign pointer is undefined), and only partial
 * misuse detection (e.g. a fastbin double free that is not at the top goes
 * unnoticed), so it promises none of the detection capabilities.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "mallet/mallet.h"
#include "os/os.h"

extern const mallet_backend_t mallet_backend_sys;

#ifdef MALLET_SANITIZER_BUILD
/* Sanitizer builds: the sanitizer replaces malloc and intercepts some but
 * not all __libc_* names (ASan takes __libc_memalign but not __libc_free),
 * so mixing them corrupts the heap. There is no libmallet.so in these
 * builds, hence no recursion: call the ordinary names, which means `sys`
 * measures the sanitizer's allocator here. version() says so. */
#define SYS_MALLOC malloc
#define SYS_CALLOC calloc
#define SYS_REALLOC realloc
#define SYS_FREE free
#define SYS_MEMALIGN memalign
#define SYS_VALLOC valloc
#define SYS_UNDER_SANITIZER " (sanitizer's allocator)"
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
#define SYS_MALLOC __libc_malloc
#define SYS_CALLOC __libc_calloc
#define SYS_REALLOC __libc_realloc
#define SYS_FREE __libc_free
#define SYS_MEMALIGN __libc_memalign
#define SYS_VALLOC __libc_valloc
#define SYS_UNDER_SANITIZER ""
#endif

typedef size_t (*usable_fn)(void *);
typedef struct mallinfo2 (*mallinfo2_fn)(void);
typedef int (*trim_fn)(size_t);
typedef int (*mallopt_fn)(int, int);
typedef void (*stats_fn)(void);
typedef int (*info_fn)(int, FILE *);

static usable_fn real_usable;
static mallinfo2_fn real_mallinfo2;
static trim_fn real_trim;
static mallopt_fn real_mallopt;
static stats_fn real_stats;
static info_fn real_info;

/* Finds glibc's own definition even when libmallet.so shadows the name. */
static void *libc_sym(const char *name)
{
    void *p = dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
    if (p == NULL)
        p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        /* RTLD_NEXT from the main program's statically linked copy may
         * miss; ask libc.so.6 itself. */
        void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        if (h)
            p = dlsym(h, name);
    }
    return p;
}

static void resolve(void)
{
    if (real_usable)
        return;
#ifdef MALLET_SANITIZER_BUILD
    real_usable = malloc_usable_size;
    real_mallinfo2 = mallinfo2;
    real_trim = malloc_trim;
    real_mallopt = mallopt;
    real_stats = malloc_stats;
    real_info = malloc_info;
    return;
#endif
    real_mallinfo2 = (mallinfo2_fn)libc_sym("mallinfo2");
    real_trim = (trim_fn)libc_sym("malloc_trim");
    real_mallopt = (mallopt_fn)libc_sym("mallopt");
    real_stats = (stats_fn)libc_sym("malloc_stats");
    real_info = (info_fn)libc_sym("malloc_info");
    real_usable = (usable_fn)libc_sym("malloc_usable_size");
}

static size_t sys_size(mallet_zone_t *z, const void *p)
{
    (void)z;
    resolve();
    return real_usable ? real_usable((void *)p) : 0;
}
static void *sys_malloc(mallet_zone_t *z, size_t n) { (void)z; return SYS_MALLOC(n); }
static void *sys_calloc(mallet_zone_t *z, size_t c, size_t n) { (void)z; return SYS_CALLOC(c, n); }
static void *sys_valloc(mallet_zone_t *z, size_t n) { (void)z; return SYS_VALLOC(n); }
static void sys_free(mallet_zone_t *z, void *p) { (void)z; SYS_FREE(p); }
static void *sys_realloc(mallet_zone_t *z, void *p, size_t n) { (void)z; return SYS_REALLOC(p, n); }
static void *sys_memalign(mallet_zone_t *z, size_t a, size_t n) { (void)z; return SYS_MEMALIGN(a, n); }
static void sys_destroy(mallet_zone_t *z) { (void)z; /* the global zone lives forever */ }

static size_t sys_pressure_relief(mallet_zone_t *z, size_t goal)
{
    (void)z; (void)goal;
    resolve();
    size_t before = mallet_os_rss();
    if (real_trim)
        real_trim(0);
    size_t after = mallet_os_rss();
    return before > after ? before - after : 0;
}

/* glibc rounds a request to its chunk size; the usable part is 8 less. */
static size_t sys_good_size(mallet_zone_t *z, size_t n)
{
    (void)z;
    size_t chunk = (n + 8 + 15) & ~(size_t)15;
    if (chunk < 32)
        chunk = 32;
    return chunk - 8;
}

static void sys_statistics(mallet_zone_t *z, mallet_zone_stats_t *s)
{
    (void)z;
    resolve();
    if (!real_mallinfo2)
        return;
    struct mallinfo2 mi = real_mallinfo2();
    s->blocks_in_use = 0; /* glibc does not count live blocks */
    s->size_in_use = mi.uordblks + mi.hblkhd;
    s->size_allocated = mi.arena + mi.hblkhd;
}

static void sys_print(mallet_zone_t *z, int fd, bool verbose)
{
    mallet_zone_stats_t s = {0};
    (void)verbose;
    sys_statistics(z, &s);
    mallet_os_printf(fd, "sys (glibc %s): %zu bytes in use, %zu bytes from the OS\n",
                     gnu_get_libc_version(), s.size_in_use, s.size_allocated);
}

static const mallet_zone_introspection_t sys_introspection = {
    .good_size = sys_good_size,
    .print = sys_print,
    .statistics = sys_statistics,
};

static mallet_zone_t sys_zone = {
    .size = sys_size,
    .malloc = sys_malloc,
    .calloc = sys_calloc,
    .valloc = sys_valloc,
    .free = sys_free,
    .realloc = sys_realloc,
    .destroy = sys_destroy,
    .zone_name = "sys",
    .introspect = &sys_introspection,
    .version = 10,
    .memalign = sys_memalign,
    .pressure_relief = sys_pressure_relief,
};

static int sys_mallopt(int param, int value) { resolve(); return real_mallopt ? real_mallopt(param, value) : 0; }
static int sys_trim(size_t pad) { resolve(); return real_trim ? real_trim(pad) : 0; }
static struct mallinfo2 sys_mallinfo2(void)
{
    struct mallinfo2 m;
    resolve();
    if (real_mallinfo2)
        return real_mallinfo2();
    memset(&m, 0, sizeof m);
    return m;
}
static void sys_malloc_stats(void) { resolve(); if (real_stats) real_stats(); }
static int sys_malloc_info(int o, FILE *fp) { resolve(); return real_info ? real_info(o, fp) : (errno = ENOSYS, -1); }

static const mallet_dropin_extras_t sys_extras = {
    .mallopt = sys_mallopt,
    .malloc_trim = sys_trim,
    .mallinfo2 = sys_mallinfo2,
    .malloc_stats = sys_malloc_stats,
    .malloc_info = sys_malloc_info,
};

static const char *sys_version(void)
{
    static char buf[64];
    if (!buf[0])
        snprintf(buf, sizeof buf, "glibc %s%s", gnu_get_libc_version(), SYS_UNDER_SANITIZER);
    return buf;
}

static int sys_available(char *why, size_t len)
{
    (void)why; (void)len;
    return 0;
}

static mallet_zone_t *sys_default_zone(void)
{
    sys_zone.backend = &mallet_backend_sys;
    sys_zone.caps = mallet_backend_sys.caps;
    return &sys_zone;
}

static mallet_zone_t *sys_create_zone(const char *options, char *err, size_t errlen)
{
    if (options && *options) {
        snprintf(err, errlen, "backend sys takes no options (got '%s')", options);
        errno = EINVAL;
        return NULL;
    }
    return sys_default_zone();
}

const mallet_backend_t mallet_backend_sys = {
    .id = "sys",
    .description = "the C library's malloc (glibc ptmalloc2), one global heap",
    .is_peer = true,
    .caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_PRESSURE_RELIEF | MALLET_CAP_PRELOAD,
    .version = sys_version,
    .available = sys_available,
    .create_zone = sys_create_zone,
    .default_zone = sys_default_zone,
    .extras = &sys_extras,
};
