/*
 * fuzz/toy_zone.c — a deliberately small checked allocator for testing the
 * misuse checker. It is compiled into the fuzz programs only and never
 * registered, so mallet's registry and `mallet list` never see it.
 *
 * One NORESERVE arena per zone, carved by a bump pointer into blocks:
 *   [16-byte header: size, magic LIVE/FREE/PAD, guard][size bytes]
 * guard = hash(size, header address, zone secret), so a changed size or
 * magic is noticed. Freed blocks go to a LIFO list per size class; the
 * link is stored twice in the block's first 16 bytes (next, next^secret).
 * A bitmap marks block starts, so interior and foreign pointers are exact
 * invalid frees. The 16 bytes at the bump pointer (the "wilderness
 * header") must stay zero. free() also checks the next block's header;
 * check() walks every header, every free list and the wilderness.
 * With weak_double_free the zone still claims double-free detection but
 * free() no longer looks at the magic: the seeded bug of fuzz/README.md.
 * Single-threaded (no MALLET_CAP_THREAD_SAFE).
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "fuzz_common.h"

#define TOY_RESERVE ((size_t)4 << 30)
#define TOY_NCLASS 80
#define MAGIC_LIVE 0x4C495645u
#define MAGIC_FREE 0x46524545u
#define MAGIC_PAD 0x50414421u

typedef struct toy_hdr {
    uint64_t size;
    uint32_t magic;
    uint32_t guard;
} toy_hdr_t;

typedef struct toy_zone {
    mallet_zone_t z;
    uint8_t *base, *bump;
    uint64_t *starts;     /* 1 bit per 16 bytes of arena */
    uint8_t *head[TOY_NCLASS];
    uint64_t secret;
    bool weak;
} toy_zone_t;

static const mallet_backend_t toy_backend;

static unsigned class_of(size_t n)
{
    if (n <= 1024)
        return n <= 16 ? 1 : (unsigned)((n + 15) / 16);
    unsigned k = 64 - (unsigned)__builtin_clzll(n - 1); /* 2^k >= n */
    return 54 + k;                                       /* 2048 -> 65 */
}

static size_t class_size(unsigned c)
{
    return c <= 64 ? (size_t)c * 16 : (size_t)1 << (c - 54);
}

static uint32_t guard_of(const toy_zone_t *t, const toy_hdr_t *h, uint32_t magic)
{
    uint64_t x = (h->size * 0x9E3779B97F4A7C15ull) ^ (uintptr_t)h ^ t->secret ^ magic;
    x ^= x >> 29;
    return (uint32_t)(x * 0xBF58476D1CE4E5B9ull >> 32);
}

#define REPORT(t, kind, corrupt, p, ...) \
    mallet_report(&(t)->z, "toy", kind, MALLET_STYLE_PLAIN, corrupt, p, __VA_ARGS__)

static bool is_start(const toy_zone_t *t, const uint8_t *p)
{
    size_t i = (size_t)(p - t->base) / 16;
    return (t->starts[i / 64] >> (i % 64)) & 1;
}

static void set_start(toy_zone_t *t, const uint8_t *p)
{
    size_t i = (size_t)(p - t->base) / 16;
    t->starts[i / 64] |= 1ull << (i % 64);
}

static bool hdr_ok(const toy_zone_t *t, const toy_hdr_t *h)
{
    return (h->magic == MAGIC_LIVE || h->magic == MAGIC_FREE || h->magic == MAGIC_PAD) &&
           h->guard == guard_of(t, h, h->magic) && h->size % 16 == 0 &&
           (const uint8_t *)(h + 1) + h->size <= t->bump;
}

static void set_hdr(toy_zone_t *t, toy_hdr_t *h, uint32_t magic)
{
    h->magic = magic;
    h->guard = guard_of(t, h, magic);
}

static bool wilderness_ok(const toy_zone_t *t)
{
    static const uint8_t zero[16];
    return t->bump + 16 > t->base + TOY_RESERVE || memcmp(t->bump, zero, 16) == 0;
}

/* Fresh block of `size` bytes whose user pointer is aligned to `align`. */
static void *bump_alloc(toy_zone_t *t, size_t size, size_t align)
{
    if (!wilderness_ok(t)) {
        REPORT(t, MALLET_ERR_HEADER_CORRUPTION, true, t->bump, "toy: wilderness header at %p overwritten",
               (void *)t->bump);
        return NULL;
    }
    uintptr_t user = ((uintptr_t)t->bump + 16 + align - 1) & ~(uintptr_t)(align - 1);
    size_t gap = user - 16 - (uintptr_t)t->bump;
    if (user + size + 16 > (uintptr_t)t->base + TOY_RESERVE)
        return NULL;
    if (gap) { /* a PAD block fills the gap (gap >= 16) */
        toy_hdr_t *pad = (toy_hdr_t *)t->bump;
        pad->size = gap - 16;
        set_hdr(t, pad, MAGIC_PAD);
    }
    toy_hdr_t *h = (toy_hdr_t *)(user - 16);
    h->size = size;
    set_hdr(t, h, MAGIC_LIVE);
    set_start(t, (uint8_t *)user);
    t->bump = (uint8_t *)user + size;
    return (void *)user;
}

static void *toy_malloc_aligned(mallet_zone_t *z, size_t align, size_t n)
{
    toy_zone_t *t = (toy_zone_t *)z;
    unsigned c = class_of(n);
    if (c >= TOY_NCLASS)
        return NULL;
    uint8_t *p = t->head[c];
    if (p && ((uintptr_t)p & (align - 1)) == 0) {
        toy_hdr_t *h = (toy_hdr_t *)p - 1;
        uint8_t *next = ((uint8_t **)p)[0];
        uintptr_t check = ((uintptr_t *)p)[1];
        if (h->magic != MAGIC_FREE || !hdr_ok(t, h) || check != ((uintptr_t)next ^ t->secret) ||
            (next && (next < t->base || next >= t->bump || !is_start(t, next)))) {
            REPORT(t, MALLET_ERR_FREELIST_CORRUPTION, true, p,
                   "toy: free list of class %u corrupted at %p", c, (void *)p);
            return NULL;
        }
        t->head[c] = next;
        set_hdr(t, h, MAGIC_LIVE);
        return p;
    }
    return bump_alloc(t, class_size(c), align);
}

static void *toy_malloc(mallet_zone_t *z, size_t n) { return toy_malloc_aligned(z, 16, n); }

static void *toy_memalign(mallet_zone_t *z, size_t a, size_t n)
{
    return toy_malloc_aligned(z, a < 16 ? 16 : a, n);
}

static void *toy_valloc(mallet_zone_t *z, size_t n) { return toy_malloc_aligned(z, 4096, n); }

static void *toy_calloc(mallet_zone_t *z, size_t count, size_t n)
{
    void *p = toy_malloc(z, count * n);
    if (p)
        memset(p, 0, count * n);
    return p;
}

/* The header of a pointer the caller hands back, or NULL after a report. */
static toy_hdr_t *owned(toy_zone_t *t, void *ptr, mallet_error_kind_t invalid, const char *what)
{
    uint8_t *p = ptr;
    if (p < t->base + 16 || p >= t->bump) {
        REPORT(t, invalid, false, p, "toy: %s of %p: not in this zone", what, ptr);
        return NULL;
    }
    if ((uintptr_t)p % 16) {
        REPORT(t, MALLET_ERR_MISALIGNED_POINTER, false, p, "toy: %s of %p: misaligned", what, ptr);
        return NULL;
    }
    if (!is_start(t, p)) {
        REPORT(t, invalid, false, p, "toy: %s of %p: not the start of a block", what, ptr);
        return NULL;
    }
    toy_hdr_t *h = (toy_hdr_t *)p - 1;
    if (!hdr_ok(t, h) || h->magic == MAGIC_PAD) {
        REPORT(t, MALLET_ERR_HEADER_CORRUPTION, true, p, "toy: %s of %p: header corrupted", what, ptr);
        return NULL;
    }
    if (h->magic == MAGIC_FREE && !(t->weak && invalid == MALLET_ERR_INVALID_FREE)) {
        REPORT(t, invalid == MALLET_ERR_INVALID_FREE ? MALLET_ERR_DOUBLE_FREE : invalid, false, p,
               "toy: %s of %p: block already free", what, ptr);
        return NULL;
    }
    toy_hdr_t *next = (toy_hdr_t *)(p + h->size);
    if ((uint8_t *)next < t->bump ? !hdr_ok(t, next) : !wilderness_ok(t)) {
        REPORT(t, MALLET_ERR_HEADER_CORRUPTION, true, next, "toy: %s of %p: next header %p corrupted",
               what, ptr, (void *)next);
        return NULL;
    }
    return h;
}

static void toy_free(mallet_zone_t *z, void *ptr)
{
    toy_zone_t *t = (toy_zone_t *)z;
    toy_hdr_t *h = owned(t, ptr, MALLET_ERR_INVALID_FREE, "free");
    if (h == NULL)
        return;
    unsigned c = class_of(h->size);
    ((uint8_t **)ptr)[0] = t->head[c];
    ((uintptr_t *)ptr)[1] = (uintptr_t)t->head[c] ^ t->secret;
    t->head[c] = ptr;
    set_hdr(t, h, MAGIC_FREE);
}

static void toy_free_definite_size(mallet_zone_t *z, void *ptr, size_t n) { (void)n; toy_free(z, ptr); }

static void *toy_realloc(mallet_zone_t *z, void *ptr, size_t n)
{
    toy_zone_t *t = (toy_zone_t *)z;
    toy_hdr_t *h = owned(t, ptr, MALLET_ERR_INVALID_REALLOC, "realloc");
    if (h == NULL)
        return NULL;
    if (n <= h->size)
        return ptr;
    void *q = toy_malloc(z, n);
    if (q) {
        memcpy(q, ptr, h->size);
        toy_free(z, ptr);
    }
    return q;
}

static size_t toy_size(mallet_zone_t *z, const void *ptr)
{
    toy_zone_t *t = (toy_zone_t *)z;
    const uint8_t *p = ptr;
    if (p < t->base + 16 || p >= t->bump || (uintptr_t)p % 16 || !is_start(t, p))
        return 0;
    const toy_hdr_t *h = (const toy_hdr_t *)p - 1;
    return h->magic == MAGIC_LIVE ? h->size : 0;
}

static bool toy_claimed(mallet_zone_t *z, void *ptr)
{
    toy_zone_t *t = (toy_zone_t *)z;
    return (uint8_t *)ptr >= t->base && (uint8_t *)ptr < t->base + TOY_RESERVE;
}

static int toy_check(mallet_zone_t *z)
{
    toy_zone_t *t = (toy_zone_t *)z;
    size_t nfree = 0;
    for (uint8_t *a = t->base; a < t->bump;) {
        toy_hdr_t *h = (toy_hdr_t *)a;
        if (!hdr_ok(t, h)) {
            REPORT(t, MALLET_ERR_HEADER_CORRUPTION, true, h, "toy: check: header %p corrupted", (void *)h);
            return 0;
        }
        nfree += h->magic == MAGIC_FREE;
        a += 16 + h->size;
    }
    if (!wilderness_ok(t)) {
        REPORT(t, MALLET_ERR_HEADER_CORRUPTION, true, t->bump, "toy: check: wilderness overwritten");
        return 0;
    }
    size_t listed = 0;
    for (unsigned c = 0; c < TOY_NCLASS; c++)
        for (uint8_t *p = t->head[c]; p; p = ((uint8_t **)p)[0]) {
            toy_hdr_t *h = (toy_hdr_t *)p - 1;
            uint8_t *next = ((uint8_t **)p)[0];
            if (++listed > nfree || h->magic != MAGIC_FREE || class_of(h->size) != c ||
                ((uintptr_t *)p)[1] != ((uintptr_t)next ^ t->secret) ||
                (next && (next < t->base || next >= t->bump || !is_start(t, next)))) {
                REPORT(t, MALLET_ERR_FREELIST_CORRUPTION, true, p, "toy: check: free list %u corrupted at %p",
                       c, (void *)p);
                return 0;
            }
        }
    if (listed != nfree) {
        REPORT(t, MALLET_ERR_CHECK_FAILED, true, NULL, "toy: check: %zu free blocks, %zu listed", nfree, listed);
        return 0;
    }
    return 1;
}

static void toy_destroy(mallet_zone_t *z)
{
    toy_zone_t *t = (toy_zone_t *)z;
    munmap(t->base, TOY_RESERVE);
    munmap(t->starts, TOY_RESERVE / 16 / 8);
    munmap(t, sizeof *t);
}

static const mallet_zone_introspection_t toy_introspect = {.check = toy_check};

static const char *toy_version(void) { return "toy 1"; }
static int toy_available(char *why, size_t len) { (void)why; (void)len; return 0; }

static const mallet_backend_t toy_backend = {
    .id = "toy",
    .description = "test-only checked toy zone (never registered)",
    .caps = MALLET_CAP_INSTANCES | MALLET_CAP_DESTROY_RELEASES | MALLET_CAP_OWNERSHIP |
            MALLET_CAP_DETECT_DOUBLE_FREE | MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE | MALLET_CAP_DETECT_INVALID_FREE |
            MALLET_CAP_DETECT_FREELIST_CORRUPTION | MALLET_CAP_DETECT_HEADER_CORRUPTION |
            MALLET_CAP_DETECT_INVALID_REALLOC | MALLET_CAP_CHECK | MALLET_CAP_FREE_DEFINITE_SIZE,
    .version = toy_version,
    .available = toy_available,
};

mallet_zone_t *fz_toy_zone_create(bool weak_double_free)
{
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    toy_zone_t *t = mmap(NULL, sizeof *t, prot, flags, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    t->base = mmap(NULL, TOY_RESERVE, prot, flags, -1, 0);
    t->starts = mmap(NULL, TOY_RESERVE / 16 / 8, prot, flags, -1, 0);
    if (t->base == MAP_FAILED || t->starts == MAP_FAILED)
        fz_fail("toy zone: cannot reserve its arena");
    t->bump = t->base;
    t->secret = ((uintptr_t)t->base * 0x9E3779B97F4A7C15ull) | 1;
    t->weak = weak_double_free;
    t->z = (mallet_zone_t){
        .size = toy_size, .malloc = toy_malloc, .calloc = toy_calloc, .valloc = toy_valloc,
        .free = toy_free, .realloc = toy_realloc, .destroy = toy_destroy, .zone_name = "toy",
        .introspect = &toy_introspect, .version = 10, .memalign = toy_memalign,
        .free_definite_size = toy_free_definite_size, .claimed_address = toy_claimed,
        .backend = &toy_backend, .caps = toy_backend.caps,
    };
    return &t->z;
}
