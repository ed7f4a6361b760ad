/*
 * core/frontend.c — argument validation in front of every backend
 * (see mallet/mallet.h for the rules). Backends can then assume sane
 * arguments and keep their fast paths short, as libmalloc's zones do.
 */
#include "mallet/mallet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"

size_t mallet_max_request(void)
{
    return SIZE_MAX - 2 * mallet_os_page_size();
}

static inline bool too_big(size_t n)
{
    /* The limit is SIZE_MAX minus two pages, so anything up to SIZE_MAX / 2
     * passes without asking for the page size (one compare on the fast
     * path of every allocation). */
    return n > SIZE_MAX / 2 && n > mallet_max_request();
}

static inline void *nomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* Alignment valid for memalign: power of two and >= sizeof(void *). */
static inline bool valid_alignment(size_t a)
{
    return a >= sizeof(void *) && (a & (a - 1)) == 0;
}

void *mallet_malloc(mallet_zone_t *z, size_t n)
{
    if (too_big(n))
        return nomem();
    void *p = z->malloc(z, n);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void *mallet_calloc(mallet_zone_t *z, size_t count, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(count, n, &total) || too_big(total))
        return nomem();
    void *p = z->calloc(z, count, n);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void *mallet_valloc(mallet_zone_t *z, size_t n)
{
    if (too_big(n))
        return nomem();
    void *p = z->valloc(z, n);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void *mallet_realloc(mallet_zone_t *z, void *p, size_t n)
{
    if (p == NULL)
        return mallet_malloc(z, n);
    if (too_big(n))
        return nomem();
    int saved = errno;
    void *q = z->realloc(z, p, n);
    if (q == NULL && n != 0)
        errno = ENOMEM;
    else if (q == NULL)
        errno = saved; /* realloc(p, 0) freeing p is not a failure */
    return q;
}

void mallet_free(mallet_zone_t *z, void *p)
{
    if (p != NULL)
        z->free(z, p);
}

void *mallet_memalign(mallet_zone_t *z, size_t alignment, size_t n)
{
    if (!valid_alignment(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    if (too_big(n) || z->version < 5 || z->memalign == NULL)
        return nomem();
    void *p = z->memalign(z, alignment, n);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

int mallet_posix_memalign(mallet_zone_t *z, void **out, size_t alignment, size_t n)
{
    if (!valid_alignment(alignment))
        return EINVAL;
    int saved = errno;
    void *p = mallet_memalign(z, alignment, n);
    int rc = p ? 0 : errno;
    errno = saved;
    if (p)
        *out = p;
    return rc;
}

void *mallet_aligned_alloc(mallet_zone_t *z, size_t alignment, size_t n)
{
    /* C11 as libmalloc applies it: the size must be a multiple of the
     * alignment. glibc 2.36 accepts any size; the drop-in library's
     * aligned_alloc calls memalign directly for glibc-style backends. */
    if (!valid_alignment(alignment) || n % alignment != 0) {
        errno = EINVAL;
        return NULL;
    }
    return mallet_memalign(z, alignment, n);
}

void mallet_free_definite_size(mallet_zone_t *z, void *p, size_t n)
{
    if (p == NULL)
        return;
    if (z->version >= 6 && z->free_definite_size)
        z->free_definite_size(z, p, n);
    else
        z->free(z, p);
}

unsigned mallet_batch_malloc(mallet_zone_t *z, size_t n, void **out, unsigned count)
{
    if (too_big(n))
        return 0;
    if (z->batch_malloc)
        return z->batch_malloc(z, n, out, count);
    unsigned i = 0;
    for (; i < count; i++)
        if ((out[i] = z->malloc(z, n)) == NULL)
            break;
    return i;
}

void mallet_batch_free(mallet_zone_t *z, void **ptrs, unsigned count)
{
    if (z->batch_free) {
        z->batch_free(z, ptrs, count);
        return;
    }
    for (unsigned i = 0; i < count; i++)
        if (ptrs[i])
            z->free(z, ptrs[i]);
}

size_t mallet_size(mallet_zone_t *z, const void *p)
{
    return p ? z->size(z, p) : 0;
}

size_t mallet_good_size(mallet_zone_t *z, size_t n)
{
    if (z->introspect && z->introspect->good_size)
        return z->introspect->good_size(z, n);
    return n;
}

size_t mallet_pressure_relief(mallet_zone_t *z, size_t goal)
{
    if (z->version >= 8 && z->pressure_relief)
        return z->pressure_relief(z, goal);
    return 0;
}

bool mallet_claimed_address(mallet_zone_t *z, void *p)
{
    if (z->version >= 10 && z->claimed_address)
        return z->claimed_address(z, p);
    return true; /* libmalloc's answer when a zone cannot tell */
}

int mallet_check(mallet_zone_t *z)
{
    if (z->introspect && z->introspect->check)
        return z->introspect->check(z);
    return 1;
}

void mallet_statistics(mallet_zone_t *z, mallet_zone_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->version = MALLET_STATS_VERSION;
    s->struct_size = sizeof *s;
    if (z->introspect && z->introspect->statistics)
        z->introspect->statistics(z, s);
}

int mallet_enumerate(mallet_zone_t *z, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    if (z->introspect && z->introspect->enumerate)
        return z->introspect->enumerate(z, mask, ctx, rec);
    return ENOTSUP;
}

void mallet_print(mallet_zone_t *z, int fd, bool verbose)
{
    if (z->introspect && z->introspect->print)
        z->introspect->print(z, fd, verbose);
    else
        mallet_os_printf(fd, "zone %s (%s): no print support\n", z->zone_name,
                         z->backend ? z->backend->id : "?");
}

mallet_zone_t *mallet_zone_create(const char *id, const char *options, char *err, size_t errlen)
{
    const mallet_backend_t *b = mallet_backend_find(id);
    if (b == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s backend '%s'",
                 e == ENOSYS ? "this build does not include" : "unknown", id);
        errno = e;
        return NULL;
    }
    char why[256] = "";
    int rc = b->available(why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "backend '%s' unavailable: %s", id, why);
        errno = rc;
        return NULL;
    }
    return b->create_zone(options, err, errlen);
}

void mallet_zone_destroy(mallet_zone_t *z)
{
    if (z && z->destroy)
        z->destroy(z);
}
