/*
 * preload/preload.c — libmallet.so: the whole malloc family of an
 * unmodified program, routed to the backend named by MALLET_BACKEND
 * (default `sys`).
 *
 *   LD_PRELOAD=build/release/libmallet.so MALLET_BACKEND=je python3 ...
 *
 * Start-up: the first call picks the backend and asks it for its default
 * zone. While that runs (dlopen of a peer library calls calloc; a peer's
 * own start-up may call malloc) the calling thread is flagged and served
 * from the bootstrap arena; other threads wait on the start-up lock.
 * An unknown or unusable MALLET_BACKEND is a fatal, clearly worded error:
 * silently running another allocator would falsify every measurement.
 *
 * fork: pthread_atfork takes every zone lock before fork and releases
 * (parent) or re-creates (child) them after, as libmalloc's force_lock /
 * reinit_lock do.
 */
#define _GNU_SOURCE
#include "preload/preload.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"
#include "peers/peer_loader.h"
#include "preload/bootstrap.h"
#include "preload/trace.h"
#include "trace/trace_format.h"

/* Tells peers/peer_loader.c that it runs inside libmallet.so. */
const int mallet_in_preload = 1;

static mallet_zone_t *the_zone;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int starting __attribute__((tls_model("initial-exec")));

static void fatal(const char *fmt, const char *a, const char *b)
{
    mallet_os_printf(2, fmt, a, b);
    _exit(127);
}

static void atfork_prepare(void)
{
    mallet_trace_prefork();
    if (the_zone->introspect && the_zone->introspect->force_lock)
        the_zone->introspect->force_lock(the_zone);
}

static void atfork_parent(void)
{
    if (the_zone->introspect && the_zone->introspect->force_unlock)
        the_zone->introspect->force_unlock(the_zone);
    mallet_trace_postfork_parent();
}

static void atfork_child(void)
{
    const mallet_zone_introspection_t *in = the_zone->introspect;
    if (in && in->reinit_lock)
        in->reinit_lock(the_zone);
    else if (in && in->force_unlock)
        in->force_unlock(the_zone);
    mallet_trace_postfork_child();
}

static __attribute__((noinline)) mallet_zone_t *start(void)
{
    if (starting)
        return NULL;
    starting = 1;
    pthread_mutex_lock(&start_lock);
    if (__atomic_load_n(&the_zone, __ATOMIC_ACQUIRE) == NULL) {
        const char *id = mallet_os_getenv("MALLET_BACKEND", false);
        if (id == NULL || *id == '\0')
            id = "sys";
        if (strcmp(id, "je") == 0)
            mallet_peer_ensure_static_tls(NULL); /* may re-execute the program */
        const mallet_backend_t *b = mallet_backend_find(id);
        if (b == NULL && mallet_backend_id_is_known(id))
            fatal("libmallet.so: MALLET_BACKEND=%s: this libmallet.so was built without that backend%s\n", id, "");
        if (b == NULL)
            fatal("libmallet.so: MALLET_BACKEND=%s is not a mallet backend "
                  "(known: nano scalable ptmalloc sys je mi tc)%s\n", id, "");
        char why[256] = "";
        if (b->available(why, sizeof why) != 0)
            fatal("libmallet.so: MALLET_BACKEND=%s is not usable here: %s\n", id, why);
        if (!(b->caps & MALLET_CAP_PRELOAD))
            fatal("libmallet.so: MALLET_BACKEND=%s cannot serve as a process allocator%s\n", id, "");
        mallet_zone_t *z = b->default_zone();
        if (z == NULL)
            fatal("libmallet.so: MALLET_BACKEND=%s: the backend could not start its zone%s\n", id, "");
        const char *trace = mallet_os_getenv("MALLET_TRACE", false);
        if (trace && *trace)
            mallet_trace_start(trace);
        __atomic_store_n(&the_zone, z, __ATOMIC_RELEASE);
        pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    }
    pthread_mutex_unlock(&start_lock);
    starting = 0;
    return the_zone;
}

mallet_zone_t *mallet_preload_zone(void)
{
    mallet_zone_t *z = __atomic_load_n(&the_zone, __ATOMIC_ACQUIRE);
    return __builtin_expect(z != NULL, 1) ? z : start();
}

__attribute__((destructor)) static void at_exit_flush(void)
{
    if (mallet_trace_on)
        mallet_trace_flush();
}

#define TRACE(op, size, aux, res, old, failed)                                          \
    do {                                                                                \
        if (__builtin_expect(mallet_trace_on, 0))                                       \
            mallet_trace_record((op), (size), (aux), (res), (old), (failed));           \
    } while (0)

MALLET_EXPORT void *malloc(size_t n)
{
    mallet_zone_t *z = mallet_preload_zone();
    if (!z)
        return mallet_boot_alloc(n, 16);
    void *p = mallet_malloc(z, n);
    TRACE(MALLET_TOP_MALLOC, n, 0, p, NULL, p == NULL);
    return p;
}

MALLET_EXPORT void free(void *p)
{
    if (p == NULL || mallet_boot_owns(p))
        return;
    mallet_zone_t *z = mallet_preload_zone();
    TRACE(MALLET_TOP_FREE, 0, 0, NULL, p, 0);
    mallet_free(z, p);
}

MALLET_EXPORT void *calloc(size_t count, size_t n)
{
    mallet_zone_t *z = mallet_preload_zone();
    if (!z) {
        size_t t;
        if (__builtin_mul_overflow(count, n, &t)) {
            errno = ENOMEM;
            return NULL;
        }
        return mallet_boot_alloc(t, 16); /* the arena starts zeroed, never reused */
    }
    void *p = mallet_calloc(z, count, n);
    TRACE(MALLET_TOP_CALLOC, count * n, count, p, NULL, p == NULL);
    return p;
}

MALLET_EXPORT void *realloc(void *p, size_t n)
{
    if (p && mallet_boot_owns(p)) {
        size_t old = mallet_boot_size(p);
        void *q = malloc(n);
        if (q)
            memcpy(q, p, old < n ? old : n);
        return q;
    }
    mallet_zone_t *z = mallet_preload_zone();
    if (!z)
        return p ? NULL : mallet_boot_alloc(n, 16);
    void *q = mallet_realloc(z, p, n);
    if (mallet_trace_on) {
        bool failed = (q == NULL && n != 0);
        mallet_trace_record(MALLET_TOP_REALLOC, n, 0, q, failed ? NULL : p, failed);
    }
    return q;
}

MALLET_EXPORT void *reallocarray(void *p, size_t count, size_t n)
{
    size_t t;
    if (__builtin_mul_overflow(count, n, &t)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, t);
}

/* glibc's memalign: alignments up to 16 are plain malloc; others round up
 * to a power of two; absurd ones are EINVAL. Programs rely on this
 * leniency, so the drop-in keeps it whatever the backend. */
static void *aligned(size_t a, size_t n, uint8_t op)
{
    mallet_zone_t *z = mallet_preload_zone();
    if (a <= 16)
        return malloc(n);
    if (a > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (a & (a - 1))
        a = (size_t)1 << (64 - __builtin_clzl(a));
    if (!z)
        return mallet_boot_alloc(n, a);
    void *p = mallet_memalign(z, a, n);
    TRACE(op, n, a, p, NULL, p == NULL);
    return p;
}

MALLET_EXPORT void *memalign(size_t a, size_t n) { return aligned(a, n, MALLET_TOP_MEMALIGN); }
MALLET_EXPORT void *aligned_alloc(size_t a, size_t n) { return aligned(a, n, MALLET_TOP_MEMALIGN); }

MALLET_EXPORT int posix_memalign(void **out, size_t a, size_t n)
{
    if (a < sizeof(void *) || (a & (a - 1)))
        return EINVAL;
    int saved = errno;
    void *p = aligned(a, n, MALLET_TOP_MEMALIGN);
    int rc = p ? 0 : ENOMEM;
    errno = saved;
    if (p)
        *out = p;
    return rc;
}

MALLET_EXPORT void *valloc(size_t n)
{
    mallet_zone_t *z = mallet_preload_zone();
    if (!z)
        return mallet_boot_alloc(n, mallet_os_page_size());
    void *p = mallet_valloc(z, n);
    TRACE(MALLET_TOP_VALLOC, n, 0, p, NULL, p == NULL);
    return p;
}

MALLET_EXPORT void *pvalloc(size_t n)
{
    size_t page = mallet_os_page_size();
    if (n > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = n ? (n + page - 1) & ~(page - 1) : page;
    mallet_zone_t *z = mallet_preload_zone();
    if (!z)
        return mallet_boot_alloc(rounded, page);
    void *p = mallet_valloc(z, rounded);
    TRACE(MALLET_TOP_PVALLOC, rounded, 0, p, NULL, p == NULL);
    return p;
}

MALLET_EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    if (mallet_boot_owns(p))
        return mallet_boot_size(p);
    return mallet_size(mallet_preload_zone(), p);
}

/* C23 sized deallocation. */
MALLET_EXPORT void free_sized(void *p, size_t n)
{
    if (p == NULL || mallet_boot_owns(p))
        return;
    mallet_zone_t *z = mallet_preload_zone();
    TRACE(MALLET_TOP_FREE_SIZED, n, 0, NULL, p, 0);
    mallet_free_definite_size(z, p, n);
}

MALLET_EXPORT void free_aligned_sized(void *p, size_t a, size_t n)
{
    (void)a;
    free_sized(p, n);
}

MALLET_EXPORT void cfree(void *p) { free(p); }
