/*
 * bench/bench_floor.c — backend `floor`, known to `mallet bench` only: the
 * cheapest allocator that can run the small-block benchmarks at all, so a
 * result table can say how far each real allocator is from "no work".
 *
 * One 64 MiB region per 16-byte size class (<= 256 B) inside one reserved
 * 1 GiB range; a block's class is (p - base) >> 26. Allocation pops the
 * class's singly-linked free list, else bumps; free pushes. No locks, no
 * checks, no metadata, no giving memory back: single-threaded benchmarks
 * only (it does not claim MALLET_CAP_THREAD_SAFE). Larger requests, and
 * alignments above 16, go to the C library. It goes through the same front
 * end and benchmark wrappers as every backend, so the difference between
 * it and an allocator is that allocator's own work.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "mallet/backend.h"
#include "os/os.h"

#define FLOOR_CLASS_SHIFT 26 /* 64 MiB per class */
#define FLOOR_CLASSES 16
#define FLOOR_RANGE ((uintptr_t)FLOOR_CLASSES << FLOOR_CLASS_SHIFT)

typedef struct floor_zone {
    mallet_zone_t z;
    uintptr_t base;
    void *head[FLOOR_CLASSES];
    uintptr_t bump[FLOOR_CLASSES], end[FLOOR_CLASSES];
} floor_zone_t;

#define FZ(zone) ((floor_zone_t *)(zone))

static inline bool floor_owns(floor_zone_t *f, const void *p)
{
    return (uintptr_t)p - f->base < FLOOR_RANGE;
}

static void *floor_malloc(mallet_zone_t *zone, size_t n)
{
    floor_zone_t *f = FZ(zone);
    if (n > 256)
        return malloc(n);
    unsigned c = n ? (unsigned)((n - 1) >> 4) : 0;
    void *p = f->head[c];
    if (p) {
        f->head[c] = *(void **)p;
        return p;
    }
    if (f->bump[c] + ((size_t)(c + 1) << 4) > f->end[c])
        return malloc(n);
    p = (void *)f->bump[c];
    f->bump[c] += (size_t)(c + 1) << 4;
    return p;
}

static void floor_free(mallet_zone_t *zone, void *p)
{
    floor_zone_t *f = FZ(zone);
    if (!floor_owns(f, p)) {
        free(p);
        return;
    }
    unsigned c = (unsigned)(((uintptr_t)p - f->base) >> FLOOR_CLASS_SHIFT);
    *(void **)p = f->head[c];
    f->head[c] = p;
}

static size_t floor_size(mallet_zone_t *zone, const void *p)
{
    floor_zone_t *f = FZ(zone);
    if (!floor_owns(f, p))
        return 0; /* not tracked: C library blocks are not ours to size */
    return ((((uintptr_t)p - f->base) >> FLOOR_CLASS_SHIFT) + 1) << 4;
}

static void *floor_calloc(mallet_zone_t *zone, size_t count, size_t n)
{
    size_t total = count * n; /* the front end checked for overflow */
    void *p = floor_malloc(zone, total);
    if (p)
        memset(p, 0, total);
    return p;
}

static void *floor_realloc(mallet_zone_t *zone, void *p, size_t n)
{
    floor_zone_t *f = FZ(zone);
    if (!floor_owns(f, p))
        return realloc(p, n); /* C library block (or NULL) */
    size_t old = floor_size(zone, p);
    if (n <= old && n > old / 2)
        return p;
    void *q = floor_malloc(zone, n);
    if (q) {
        memcpy(q, p, old < n ? old : n);
        floor_free(zone, p);
    }
    return q;
}

static void *floor_memalign(mallet_zone_t *zone, size_t align, size_t n)
{
    if (align <= 16)
        return floor_malloc(zone, n);
    return aligned_alloc(align, (n + align - 1) & ~(align - 1));
}

static void *floor_valloc(mallet_zone_t *zone, size_t n)
{
    return floor_memalign(zone, mallet_os_page_size(), n);
}

static void floor_destroy(mallet_zone_t *zone)
{
    (void)zone; /* C library blocks may still be live; the process ends soon */
}

static mallet_zone_t *floor_create(const char *options, char *err, size_t errlen)
{
    if (options && *options) {
        snprintf(err, errlen, "floor takes no options");
        errno = EINVAL;
        return NULL;
    }
    floor_zone_t *f = calloc(1, sizeof *f);
    void *r = mallet_os_map(NULL, FLOOR_RANGE, MALLET_PROT_RW);
    if (f == NULL || r == NULL) {
        snprintf(err, errlen, "floor: cannot reserve its 1 GiB range");
        free(f);
        errno = ENOMEM;
        return NULL;
    }
    f->base = (uintptr_t)r;
    for (unsigned c = 0; c < FLOOR_CLASSES; c++) {
        f->bump[c] = f->base + ((uintptr_t)c << FLOOR_CLASS_SHIFT);
        f->end[c] = f->bump[c] + ((uintptr_t)1 << FLOOR_CLASS_SHIFT);
    }
    f->z = (mallet_zone_t){
        .size = floor_size,
        .malloc = floor_malloc,
        .calloc = floor_calloc,
        .valloc = floor_valloc,
        .free = floor_free,
        .realloc = floor_realloc,
        .destroy = floor_destroy,
        .zone_name = "floor",
        .version = 10,
        .memalign = floor_memalign,
        .backend = &mallet_bench_floor_backend,
    };
    return &f->z;
}

static mallet_zone_t *floor_default_zone(void)
{
    char err[128];
    return floor_create(NULL, err, sizeof err);
}

static int floor_available(char *why, size_t len)
{
    (void)why, (void)len;
    return 0;
}

static const char *floor_version(void)
{
    return "per-class free lists, no checks (bench-only floor)";
}

const mallet_backend_t mallet_bench_floor_backend = {
    .id = "floor",
    .description = "benchmark floor: per-size-class singly-linked free lists, single-threaded, no checks",
    .is_peer = false,
    .caps = 0,
    .version = floor_version,
    .available = floor_available,
    .create_zone = floor_create,
    .default_zone = floor_default_zone,
};

const mallet_backend_t *mallet_bench_backend_find(const char *id)
{
    if (strcmp(id, "floor") == 0)
        return &mallet_bench_floor_backend;
    return mallet_backend_find(id);
}
