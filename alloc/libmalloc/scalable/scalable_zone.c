/*
 * scalable_zone.c — the mallet zone for libmalloc's scalable allocator
 * (ALLOCATOR_REFERENCE §C.1, §C.8) and the `scalable` backend descriptor.
 *
 * Dispatch by request size (libmalloc-792, 64-bit):
 *     1 .. 1008 B           tiny,   16 B quanta   (scalable_tiny.c)
 *     .. 32 KiB             small,  512 B quanta  (scalable_small.c)
 *     .. 8 MiB if engaged   medium, 32 KiB quanta (scalable_medium.c)
 *     above                 large,  whole pages   (scalable_large.c)
 * A pointer is dispatched by ownership instead: tiny region hash, small
 * region hash, medium region hash, then the large table.
 *
 * The zone struct, magazines, hash rings and large table are all mapped
 * separately from the heap, so destroy() can release everything by walking
 * them even when the heap itself has been scribbled over.
 */
#include "scalable.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scalable_engine.h"
#include "scalable_internal.h"

extern const mallet_backend_t mallet_backend_scalable;

#define SZ(zone) ((sz_zone_t *)(zone))

static inline uint32_t msize_for(size_t n, unsigned qshift)
{
#ifdef MALLET_SEEDED_BUG_SZ_ROUNDING /* seeded bug: tiny rounds down, one quantum short */
    if (qshift == SZ_TINY_QSHIFT && n > SZ_TINY_QUANTUM)
        return (uint32_t)(n >> qshift);
#endif
    return n ? (uint32_t)((n + ((size_t)1 << qshift) - 1) >> qshift) : 1;
}

static void *sz_alloc_slow(sz_zone_t *z, size_t n, bool cleared);

static inline void *sz_alloc(sz_zone_t *z, size_t n, bool cleared)
{
    if (__builtin_expect(n <= SZ_TINY_LIMIT && !cleared && !z->s.scribble, 1))
        return sz_tiny_malloc(&z->racks[SZ_TINY], msize_for(n, SZ_TINY_QSHIFT));
    return sz_alloc_slow(z, n, cleared);
}

static void *sz_alloc_slow(sz_zone_t *z, size_t n, bool cleared)
{
    void *p;
    size_t bytes;
    if (n <= SZ_TINY_LIMIT)
        p = sz_tiny_malloc(&z->racks[SZ_TINY], msize_for(n, SZ_TINY_QSHIFT)),
        bytes = n ? sz_round_up(n, SZ_TINY_QUANTUM) : SZ_TINY_QUANTUM;
    else if (n <= z->small_limit)
        p = sz_small_malloc(&z->racks[SZ_SMALL], msize_for(n, SZ_SMALL_QSHIFT)),
        bytes = sz_round_up(n, SZ_SMALL_QUANTUM);
    else if (z->medium_on && n <= SZ_MEDIUM_LIMIT)
        p = sz_medium_malloc(&z->racks[SZ_MEDIUM], msize_for(n, SZ_MEDIUM_QSHIFT)),
        bytes = sz_round_up(n, SZ_MEDIUM_QUANTUM);
    else
        return sz_large_malloc(z, n, 0, cleared);
    if (p == NULL)
        return NULL;
    if (cleared)
        memset(p, 0, n); /* recycled memory: clear what was asked for */
    else if (z->s.scribble)
        memset(p, 0xAA, bytes);
    return p;
}

static void *sz_malloc(mallet_zone_t *zone, size_t n)
{
    sz_zone_t *z = SZ(zone);
    sz_debug_tick(z);
    void *p;
    /* sz_alloc's test, with the tiny path instantiated here (one call
     * level less on the commonest request; the other entry points call
     * sz_tiny_malloc). */
    if (__builtin_expect(n <= SZ_TINY_LIMIT && !z->s.scribble, 1))
        p = tier_malloc(&z->racks[SZ_TINY], SZ_TINY, msize_for(n, SZ_TINY_QSHIFT));
    else
        p = sz_alloc_slow(z, n, false);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

static void *sz_calloc(mallet_zone_t *zone, size_t count, size_t n)
{
    sz_debug_tick(SZ(zone));
    void *p = sz_alloc(SZ(zone), count * n, true);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

/* Which tier owns p, if any; sets *r for region tiers. */
static int owner_tier(sz_zone_t *z, const void *p, sz_region_t *r)
{
    for (int t = 0; t < SZ_NTIERS; t++)
        if ((t != SZ_MEDIUM || z->medium_on) && sz_rack_owns(&z->racks[t], p, r))
            return t;
    return -1;
}

static void free_in_tier(sz_zone_t *z, sz_tier_t t, sz_region_t r, void *p)
{
    const sz_tier_ops_t *ops = z->racks[t].ops;
    if ((uintptr_t)p & (((uintptr_t)1 << sz_qshift(t)) - 1)) {
        SZ_REPORT(z, MALLET_ERR_MISALIGNED_POINTER, false, p, ops->msg_misaligned, p);
        return;
    }
    if ((uintptr_t)p < (uintptr_t)sz_heap(t, r)) {
        SZ_REPORT(z, MALLET_ERR_INVALID_FREE, false, p, ops->msg_metadata, p);
        return;
    }
    switch (t) {
    case SZ_TINY: sz_tiny_free(&z->racks[SZ_TINY], r, p); break;
    case SZ_SMALL: sz_small_free(&z->racks[SZ_SMALL], r, p); break;
    default: sz_medium_free(&z->racks[SZ_MEDIUM], r, p); break;
    }
}

static void sz_free(mallet_zone_t *zone, void *p)
{
    sz_zone_t *z = SZ(zone);
    sz_debug_tick(z);
    if ((uintptr_t)p & (SZ_TINY_QUANTUM - 1)) {
        SZ_REPORT(z, MALLET_ERR_MISALIGNED_POINTER, false, p, "Non-aligned pointer %p being freed", p);
        return;
    }
    sz_region_t r = NULL;
    if (sz_rack_owns_t(&z->racks[SZ_TINY], SZ_TINY, p, &r)) {
        /* tiny quanta are 16 B: alignment was checked above */
        if (__builtin_expect((uintptr_t)p >= (uintptr_t)sz_heap(SZ_TINY, r), 1)) {
            tier_free(&z->racks[SZ_TINY], SZ_TINY, r, p); /* inline */
            return;
        }
        free_in_tier(z, SZ_TINY, r, p);
        return;
    }
    if (sz_rack_owns(&z->racks[SZ_SMALL], p, &r))
        free_in_tier(z, SZ_SMALL, r, p);
    else if (z->medium_on && sz_rack_owns(&z->racks[SZ_MEDIUM], p, &r))
        free_in_tier(z, SZ_MEDIUM, r, p);
    else
        sz_large_free(z, p, true);
}

/* The caller states the size: look in that tier first. */
static void sz_free_definite_size(mallet_zone_t *zone, void *p, size_t n)
{
    sz_zone_t *z = SZ(zone);
    sz_tier_t t = n <= SZ_TINY_LIMIT ? SZ_TINY : n <= z->small_limit ? SZ_SMALL : SZ_MEDIUM;
    sz_region_t r = NULL;
    if (n <= z->large_threshold && ((uintptr_t)p & (SZ_TINY_QUANTUM - 1)) == 0 &&
        sz_rack_owns(&z->racks[t], p, &r)) {
        sz_debug_tick(z);
        free_in_tier(z, t, r, p);
        return;
    }
    sz_free(zone, p);
}

static size_t sz_size(mallet_zone_t *zone, const void *p)
{
    sz_zone_t *z = SZ(zone);
    sz_region_t r = NULL;
    int t = owner_tier(z, p, &r);
    if (t >= 0)
        return sz_tier_size(&z->racks[t], r, p);
    return sz_large_size(z, p);
}

static bool sz_claimed_address(mallet_zone_t *zone, void *p)
{
    sz_region_t r = NULL;
    return owner_tier(SZ(zone), p, &r) >= 0 || sz_large_claimed(SZ(zone), p);
}

/* Tier a request of n bytes would use; SZ_NTIERS for large. */
static int request_tier(const sz_zone_t *z, size_t n)
{
    if (n <= SZ_TINY_LIMIT)
        return SZ_TINY;
    if (n <= z->small_limit)
        return SZ_SMALL;
    if (z->medium_on && n <= SZ_MEDIUM_LIMIT)
        return SZ_MEDIUM;
    return SZ_NTIERS;
}

static void *sz_realloc(mallet_zone_t *zone, void *p, size_t n)
{
    sz_zone_t *z = SZ(zone);
    if (p == NULL)
        return sz_malloc(zone, n);
    if (n == 0) {
        sz_free(zone, p);
        return sz_malloc(zone, 1); /* libmalloc returns a minimum block */
    }
    sz_debug_tick(z);
    sz_region_t r = NULL;
    int t = owner_tier(z, p, &r), nt = request_tier(z, n);
    size_t old = t >= 0 ? sz_tier_size(&z->racks[t], r, p) : sz_large_size(z, p);
    if (old == 0) {
        SZ_REPORT(z, MALLET_ERR_INVALID_REALLOC, false, p,
                  "pointer %p being reallocated was not allocated", p);
        errno = EINVAL;
        return NULL;
    }
    if (t >= 0 && t == nt) {
        unsigned q = sz_qshift(t);
        if (sz_tier_resize(&z->racks[t], r, p, (uint32_t)((n + (1u << q) - 1) >> q)))
            return p;
    } else if (t < 0 && nt == SZ_NTIERS && sz_large_resize(z, p, n)) {
        return p;
    }
    void *q = sz_alloc(z, n, false);
    if (q == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(q, p, old < n ? old : n);
    sz_free(zone, p);
    return q;
}

/* Allocate n bytes aligned to `align` in tier t by over-allocating a span
 * and giving the head and tail back as partial frees (libmalloc's way). */
static void *aligned_in_tier(sz_zone_t *z, sz_tier_t t, size_t align, size_t n)
{
    unsigned q = sz_qshift(t);
    size_t quantum = (size_t)1 << q;
    uint32_t keep = n ? (uint32_t)((n + quantum - 1) >> q) : 1;
    if (align <= quantum)
        return sz_tier_malloc(&z->racks[t], keep);
    uint32_t span = keep + (uint32_t)((align - quantum) >> q);
    void *p = sz_tier_malloc(&z->racks[t], span);
    if (p == NULL)
        return NULL;
    uint32_t head = (uint32_t)((sz_round_up((uintptr_t)p, align) - (uintptr_t)p) >> q);
    return sz_tier_trim(&z->racks[t], sz_region_of(t, p), p, head, keep);
}

static void *sz_memalign(mallet_zone_t *zone, size_t align, size_t n)
{
    sz_zone_t *z = SZ(zone);
    sz_debug_tick(z);
    void *p = NULL;
    if (n == 0)
        n = 1;
    if (align <= SZ_TINY_QUANTUM) {
        p = sz_alloc(z, n, false);
    } else if (n > SIZE_MAX / 2 || align > SIZE_MAX / 4) {
        p = NULL;
    } else {
        /* A tier whose quanta are aligned enough serves n directly;
         * otherwise the tier is chosen by the span that guarantees an
         * aligned spot (n + align - 1), so the span fits that tier. */
        int t = request_tier(z, n);
        if (t == SZ_NTIERS || align > ((size_t)1 << sz_qshift(t)))
            t = request_tier(z, n + align - 1);
        p = t < SZ_NTIERS ? aligned_in_tier(z, (sz_tier_t)t, align, n)
                          : sz_large_malloc(z, n, align, false);
    }
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

static void *sz_valloc(mallet_zone_t *zone, size_t n)
{
    return sz_memalign(zone, sz_page(), n);
}

static unsigned sz_batch_malloc(mallet_zone_t *zone, size_t n, void **out, unsigned count)
{
    sz_zone_t *z = SZ(zone);
    if (n > SZ_TINY_LIMIT)
        return 0; /* libmalloc batches tiny requests only */
    uint32_t msize = msize_for(n, SZ_TINY_QSHIFT);
    unsigned got = sz_tier_batch_malloc(&z->racks[SZ_TINY], msize, out, count);
    if (z->s.scribble)
        for (unsigned i = 0; i < got; i++)
            memset(out[i], 0xAA, (size_t)msize << SZ_TINY_QSHIFT);
    return got;
}

static void sz_batch_free(mallet_zone_t *zone, void **ptrs, unsigned count)
{
    for (unsigned i = 0; i < count; i++)
        if (ptrs[i])
            sz_free(zone, ptrs[i]);
}

static size_t sz_good_size(mallet_zone_t *zone, size_t n)
{
    sz_zone_t *z = SZ(zone);
    size_t q;
    switch (request_tier(z, n)) {
    case SZ_TINY: q = SZ_TINY_QUANTUM; break;
    case SZ_SMALL: q = SZ_SMALL_QUANTUM; break;
    case SZ_MEDIUM: q = SZ_MEDIUM_QUANTUM; break;
    default: q = sz_page(); break;
    }
    if (n == 0)
        return SZ_TINY_QUANTUM;
    if (n > SIZE_MAX - q)
        return SIZE_MAX;
    return sz_round_up(n, q);
}

static size_t sz_pressure_relief(mallet_zone_t *zone, size_t goal)
{
    sz_zone_t *z = SZ(zone);
    (void)goal; /* libmalloc also releases everything it can */
    size_t n = sz_large_pressure_relief(z);
    for (int t = 0; t < SZ_NTIERS; t++)
        n += sz_rack_pressure_relief(&z->racks[t]);
    return n;
}

static void sz_force_lock(mallet_zone_t *zone)
{
    sz_zone_t *z = SZ(zone);
    for (int t = 0; t < SZ_NTIERS; t++)
        sz_rack_lock_all(&z->racks[t]);
    mallet_lock(&z->large.lock);
}

static void sz_force_unlock(mallet_zone_t *zone)
{
    sz_zone_t *z = SZ(zone);
    mallet_unlock(&z->large.lock);
    for (int t = SZ_NTIERS - 1; t >= 0; t--)
        sz_rack_unlock_all(&z->racks[t]);
}

static void sz_reinit_lock(mallet_zone_t *zone)
{
    sz_zone_t *z = SZ(zone);
    for (int t = 0; t < SZ_NTIERS; t++)
        sz_rack_reinit_locks(&z->racks[t]);
    mallet_lock_reinit(&z->large.lock);
}

static bool sz_zone_locked(mallet_zone_t *zone)
{
    sz_zone_t *z = SZ(zone);
    if (!mallet_trylock(&z->large.lock))
        return true;
    mallet_unlock(&z->large.lock);
    for (int t = 0; t < SZ_NTIERS; t++)
        for (int i = SZ_MAG_DEPOT; i < (int)z->racks[t].nmags; i++) {
            if (!sz_trylock(&z->racks[t].mags[i].lock))
                return true;
            sz_unlock(&z->racks[t].mags[i].lock);
        }
    return false;
}

static void sz_destroy(mallet_zone_t *zone)
{
    sz_zone_t *z = SZ(zone);
    for (int t = 0; t < SZ_NTIERS; t++)
        sz_rack_destroy(&z->racks[t]);
    sz_large_destroy(z);
    if (z->log_fd >= 0)
        close(z->log_fd);
    mallet_os_unmap(z, z->map_bytes);
}

static const mallet_zone_introspection_t sz_introspection = {
    .enumerate = sz_enumerate,
    .good_size = sz_good_size,
    .check = sz_check,
    .print = sz_print,
    .force_lock = sz_force_lock,
    .force_unlock = sz_force_unlock,
    .reinit_lock = sz_reinit_lock,
    .statistics = sz_statistics,
    .zone_locked = sz_zone_locked,
};

mallet_zone_t *mallet_scalable_create(const char *options, char *err, size_t errlen)
{
    sz_settings_t s;
    int rc = sz_settings_load(&s, true, options, err, errlen);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    size_t bytes = sz_round_up(sizeof(sz_zone_t), sz_page());
    sz_zone_t *z = mallet_os_map(NULL, bytes, MALLET_PROT_RW);
    if (z == NULL) {
        snprintf(err, errlen, "scalable: cannot map the zone: %s", strerror(errno));
        return NULL;
    }
    mallet_os_name_mapping(z, bytes, "scalable zone");
    z->map_bytes = bytes;
    z->s = s;
    z->entropy = mallet_os_random64() | 1;
    z->region_cookie = (uint32_t)((z->entropy >> 8) & 0xFFFF);
    z->medium_on = sz_medium_wanted(&s);
    z->small_limit = SZ_SMALL_LIMIT;
    z->large_threshold = z->medium_on ? SZ_MEDIUM_LIMIT : SZ_SMALL_LIMIT;
    /* "all" adds a postlude guard after every tiny/small/medium region
     * (libmalloc 792); any other value guards large blocks only.
     * MallocDoNotProtectPostlude leaves that page unprotected, i.e. no
     * guard, so none is mapped. */
    z->guard_regions = strcmp(s.guard_edges, "all") == 0 && !s.no_postlude;
    z->free_fill = s.scribble || s.zero_on_free;
    unsigned nmags = mallet_os_cpu_count();
    if (s.max_magazines > 0 && (unsigned long)s.max_magazines < nmags)
        nmags = (unsigned)s.max_magazines;
    if (nmags > SZ_MAX_MAGAZINES)
        nmags = SZ_MAX_MAGAZINES;
    if (nmags == 0)
        nmags = 1;
    z->log_fd = -1;
    rc = sz_large_init(z);
    for (int t = 0; t < SZ_NTIERS && rc == 0; t++)
        rc = sz_rack_init(z, &z->racks[t], (sz_tier_t)t, nmags);
    if (rc != 0) {
        sz_destroy(&z->base);
        snprintf(err, errlen, "scalable: cannot map zone metadata");
        errno = ENOMEM;
        return NULL;
    }
    z->base = (mallet_zone_t){
        .size = sz_size,
        .malloc = sz_malloc,
        .calloc = sz_calloc,
        .valloc = sz_valloc,
        .free = sz_free,
        .realloc = sz_realloc,
        .destroy = sz_destroy,
        .zone_name = "scalable",
        .batch_malloc = sz_batch_malloc,
        .batch_free = sz_batch_free,
        .introspect = &sz_introspection,
        .version = MALLET_ZONE_VERSION,
        .memalign = sz_memalign,
        .free_definite_size = sz_free_definite_size,
        .pressure_relief = sz_pressure_relief,
        .claimed_address = sz_claimed_address,
        .backend = &mallet_backend_scalable,
        .caps = mallet_backend_scalable.caps,
    };
    sz_debug_zone_created(z);
    return &z->base;
}

void mallet_scalable_destroy(mallet_zone_t *zone)
{
    if (zone)
        sz_destroy(zone);
}

/* ---- backend descriptor ------------------------------------------------------ */

static mallet_zone_t *default_zone_ptr;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    char err[256];
    default_zone_ptr = mallet_scalable_create(NULL, err, sizeof err);
    if (default_zone_ptr == NULL)
        mallet_os_printf(2, "mallet(scalable): default zone: %s\n", err);
}

static mallet_zone_t *sz_default_zone(void)
{
    pthread_once(&default_once, default_init);
    return default_zone_ptr;
}

static const char *sz_version(void)
{
    return "mallet re-implementation of libmalloc-792 szone (tiny/small/medium/large)";
}

static int sz_available(char *why, size_t len)
{
    (void)why;
    (void)len;
    return 0;
}

static void sz_print_options(int fd)
{
    mallet_options_print_help(fd, sz_option_table, sz_option_count);
}

const mallet_backend_t mallet_backend_scalable = {
    .id = "scalable",
    .description = "libmalloc's scalable zone: tiny/small/medium magazines per CPU, depot, large with death-row cache",
    .is_peer = false,
    .caps = MALLET_CAP_THREAD_SAFE | MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES |
            MALLET_CAP_OWNERSHIP | MALLET_CAP_DETECT_DOUBLE_FREE | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE | MALLET_CAP_DETECT_INVALID_FREE |
            MALLET_CAP_DETECT_FREELIST_CORRUPTION | MALLET_CAP_CHECK | MALLET_CAP_ENUMERATE |
            MALLET_CAP_STATISTICS | MALLET_CAP_BATCH | MALLET_CAP_PRESSURE_RELIEF |
            MALLET_CAP_FREE_DEFINITE_SIZE | MALLET_CAP_PRELOAD | MALLET_CAP_DETECT_INVALID_REALLOC,
    .version = sz_version,
    .available = sz_available,
    .create_zone = mallet_scalable_create,
    .default_zone = sz_default_zone,
    .print_options = sz_print_options,
    .extras = NULL,
};
