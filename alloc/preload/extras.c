/*
 * preload/extras.c — the non-standard entry points programs call next to
 * malloc: glibc's (mallopt, malloc_trim, mallinfo/mallinfo2, malloc_stats,
 * malloc_info) and Apple's (malloc_size, malloc_good_size, a minimal
 * malloc_zone_* API over mallet zones).
 *
 * The glibc ones go to the backend's extras table where it has one (sys,
 * ptmalloc). Other backends get a neutral answer built from the zone's
 * statistics: mallopt is rejected (returns 0, as glibc does for unknown
 * parameters) and malloc_trim maps to pressure_relief.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "preload/preload.h"

static const mallet_dropin_extras_t *extras(void)
{
    mallet_zone_t *z = mallet_preload_zone();
    return z && z->backend ? z->backend->extras : NULL;
}

MALLET_EXPORT int mallopt(int param, int value)
{
    const mallet_dropin_extras_t *x = extras();
    return x && x->mallopt ? x->mallopt(param, value) : 0;
}

MALLET_EXPORT int malloc_trim(size_t pad)
{
    const mallet_dropin_extras_t *x = extras();
    if (x && x->malloc_trim)
        return x->malloc_trim(pad);
    return mallet_pressure_relief(mallet_preload_zone(), 0) > 0;
}

MALLET_EXPORT struct mallinfo2 mallinfo2(void)
{
    const mallet_dropin_extras_t *x = extras();
    if (x && x->mallinfo2)
        return x->mallinfo2();
    struct mallinfo2 m;
    mallet_zone_stats_t s;
    memset(&m, 0, sizeof m);
    mallet_statistics(mallet_preload_zone(), &s);
    m.arena = s.size_allocated;
    m.uordblks = s.size_in_use;
    m.fordblks = s.size_allocated > s.size_in_use ? s.size_allocated - s.size_in_use : 0;
    return m;
}

MALLET_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo m;
    /* glibc truncates to int the same way. */
    m.arena = (int)m2.arena;
    m.ordblks = (int)m2.ordblks;
    m.smblks = (int)m2.smblks;
    m.hblks = (int)m2.hblks;
    m.hblkhd = (int)m2.hblkhd;
    m.usmblks = (int)m2.usmblks;
    m.fsmblks = (int)m2.fsmblks;
    m.uordblks = (int)m2.uordblks;
    m.fordblks = (int)m2.fordblks;
    m.keepcost = (int)m2.keepcost;
    return m;
}

MALLET_EXPORT void malloc_stats(void)
{
    const mallet_dropin_extras_t *x = extras();
    if (x && x->malloc_stats) {
        x->malloc_stats();
        return;
    }
    mallet_print(mallet_preload_zone(), 2, false);
}

MALLET_EXPORT int malloc_info(int options, FILE *fp)
{
    const mallet_dropin_extras_t *x = extras();
    if (x && x->malloc_info)
        return x->malloc_info(options, fp);
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    mallet_zone_t *z = mallet_preload_zone();
    mallet_zone_stats_t s;
    mallet_statistics(z, &s);
    fprintf(fp, "<malloc version=\"mallet\" backend=\"%s\">\n<total type=\"in-use\" size=\"%zu\"/>\n"
                "<system type=\"current\" size=\"%zu\"/>\n</malloc>\n",
            z->backend ? z->backend->id : "?", s.size_in_use, s.size_allocated);
    return 0;
}

/* ---- Apple's names ---------------------------------------------------------- */
typedef mallet_zone_t malloc_zone_t;

MALLET_EXPORT size_t malloc_size(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}

MALLET_EXPORT size_t malloc_good_size(size_t n)
{
    return mallet_good_size(mallet_preload_zone(), n);
}

MALLET_EXPORT malloc_zone_t *malloc_default_zone(void) { return mallet_preload_zone(); }
MALLET_EXPORT malloc_zone_t *malloc_zone_from_ptr(const void *p)
{
    mallet_zone_t *z = mallet_preload_zone();
    if (z->caps & MALLET_CAP_OWNERSHIP)
        return mallet_size(z, p) ? z : NULL;
    return p ? z : NULL;
}
MALLET_EXPORT void *malloc_zone_malloc(malloc_zone_t *z, size_t n) { return mallet_malloc(z, n); }
MALLET_EXPORT void *malloc_zone_calloc(malloc_zone_t *z, size_t c, size_t n) { return mallet_calloc(z, c, n); }
MALLET_EXPORT void *malloc_zone_valloc(malloc_zone_t *z, size_t n) { return mallet_valloc(z, n); }
MALLET_EXPORT void *malloc_zone_realloc(malloc_zone_t *z, void *p, size_t n) { return mallet_realloc(z, p, n); }
MALLET_EXPORT void *malloc_zone_memalign(malloc_zone_t *z, size_t a, size_t n) { return mallet_memalign(z, a, n); }
MALLET_EXPORT void malloc_zone_free(malloc_zone_t *z, void *p) { mallet_free(z, p); }
MALLET_EXPORT size_t malloc_zone_pressure_relief(malloc_zone_t *z, size_t goal)
{
    return mallet_pressure_relief(z ? z : mallet_preload_zone(), goal);
}
MALLET_EXPORT int malloc_zone_check(malloc_zone_t *z) { return mallet_check(z ? z : mallet_preload_zone()); }
