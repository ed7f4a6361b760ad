/*
 * security/security_cases.c — the cases of the misuse matrix. Each runs in
 * a fresh child (security_main.c) against a fresh zone and stops at the
 * first error report: once a backend has reported, the zone is poisoned and
 * only destroy() is promised.
 *
 * After the bug, most cases "probe": allocate a few blocks of the same size
 * and look whether one of them overlaps a block still live (or another
 * probe block), or lies at an address the case planted (a global or stack
 * buffer, a forged chunk): that is the difference between a harmless and an
 * exploitable silent outcome. Probe blocks are filled with a pattern that is
 * verified at the end, so an overlap shows up even when addresses differ.
 *
 * Writes next to a block are placed so that they stay inside memory that is
 * certainly mapped (between two live blocks, or on the block's own page):
 * a harness fault must not be mistaken for the backend crashing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "security/security.h"
#include "stress/stress.h"

#define STEP(c, name)                                                      \
    snprintf((c)->sh->step, sizeof (c)->sh->step, "%s", name)
/* Stop the case once the backend reported. */
#define REPORTED(c) ((c)->sh->nreports != 0)
#define RETURN_IF_REPORTED(c) \
    do {                      \
        if (REPORTED(c))      \
            return;           \
    } while (0)

static alignas(64) unsigned char g_target[512];  /* attacker-chosen address */
static alignas(64) unsigned char g_freed[256];   /* a global passed to free */

typedef struct range {
    const void *p;
    size_t n;
} range_t;

static bool overlaps(range_t a, range_t b)
{
    uintptr_t a0 = (uintptr_t)a.p, b0 = (uintptr_t)b.p;
    return a0 < b0 + b.n && b0 < a0 + a.n;
}

/* Allocates `count` blocks of `size`, checks them against `live` and the
 * planted `target` range, then verifies their patterns. Frees nothing: a
 * freed probe could hide the overlap it just showed. */
static void probe(sec_ctx_t *c, size_t size, unsigned count, const range_t *live, unsigned nlive, range_t target)
{
    enum { MAXP = 1200 };
    static range_t got[MAXP];
    unsigned n = 0;
    STEP(c, "probe allocations");
    for (unsigned i = 0; i < count && i < MAXP; i++) {
        void *p = mallet_malloc(c->z, size);
        RETURN_IF_REPORTED(c);
        if (!p)
            continue;
        range_t r = {p, size};
        if (target.p && overlaps(r, target)) {
            c->sh->attacker = 1;
            snprintf(c->sh->note, sizeof c->sh->note, "malloc(%zu) returned %p inside the planted %p+%zu", size,
                     p, target.p, target.n);
        }
        for (unsigned k = 0; k < nlive; k++)
            if (live[k].p && overlaps(r, live[k]) && !c->sh->attacker) {
                c->sh->overlap = 1;
                snprintf(c->sh->note, sizeof c->sh->note, "malloc(%zu) returned %p overlapping live block %p",
                         size, p, live[k].p);
            }
        for (unsigned k = 0; k < n; k++)
            if (!c->sh->attacker && !c->sh->overlap && overlaps(r, got[k])) {
                c->sh->overlap = 1;
                snprintf(c->sh->note, sizeof c->sh->note, "malloc(%zu) returned %p twice (or overlapping)", size,
                         p);
            }
        got[n++] = r;
        if (!c->sh->attacker)
            stress_pattern_fill(p, size, 1000 + i, 0);
    }
    if (c->sh->attacker)
        return;
    for (unsigned k = 0; k < n; k++)
        if (stress_pattern_verify(got[k].p, got[k].n, 1000 + k, 0) != SIZE_MAX && !c->sh->overlap) {
            c->sh->overlap = 1;
            snprintf(c->sh->note, sizeof c->sh->note, "probe block %p was overwritten by another allocation",
                     got[k].p);
        }
}

static const range_t no_target = {NULL, 0};

/* Enough follow-up allocations to get past per-thread caches and one
 * mimalloc page of 64-byte blocks (64 KiB / 64): a duplicated free-list
 * entry is reached wherever the backend keeps it. */
#define DF_PROBES 1100

/* A block of `size` whose first byte is at least `before` bytes into its
 * page and whose end + `after` bytes stay on the same page. */
static void *block_on_page(sec_ctx_t *c, size_t size, size_t before, size_t after)
{
    void *keep[32];
    unsigned n = 0;
    void *found = NULL;
    size_t page = mallet_os_page_size();
    for (unsigned i = 0; i < 32 && !found; i++) {
        uint8_t *p = mallet_malloc(c->z, size);
        if (!p)
            break;
        uintptr_t off = (uintptr_t)p % page;
        if (off >= before && off + size + after <= page)
            found = p;
        else
            keep[n++] = p;
    }
    for (unsigned i = 0; i < n; i++)
        mallet_free(c->z, keep[i]);
    return found;
}

/* ---- double free ----------------------------------------------------------- */

static void df_immediate(sec_ctx_t *c)
{
    void *p = mallet_malloc(c->z, 64);
    STEP(c, "free");
    mallet_free(c->z, p);
    STEP(c, "second free");
    mallet_free(c->z, p);
    RETURN_IF_REPORTED(c);
    probe(c, 64, DF_PROBES, NULL, 0, no_target);
}

static void df_interleaved(sec_ctx_t *c)
{
    void *p = mallet_malloc(c->z, 64), *q = mallet_malloc(c->z, 64);
    STEP(c, "free p, free q");
    mallet_free(c->z, p);
    mallet_free(c->z, q);
    STEP(c, "second free of p");
    mallet_free(c->z, p);
    RETURN_IF_REPORTED(c);
    probe(c, 64, DF_PROBES, NULL, 0, no_target);
}

/* Fill the size's thread cache (ptmalloc's tcache holds 7) so the double
 * free reaches the allocator's own bins. */
static void df_full_cache_of(sec_ctx_t *c, size_t size)
{
    void *a[10], *p;
    for (unsigned i = 0; i < 10; i++)
        a[i] = mallet_malloc(c->z, size);
    p = mallet_malloc(c->z, size);
    STEP(c, "8 frees of the same size");
    for (unsigned i = 0; i < 8; i++)
        mallet_free(c->z, a[i]);
    STEP(c, "free");
    mallet_free(c->z, p);
    STEP(c, "second free");
    mallet_free(c->z, p);
    RETURN_IF_REPORTED(c);
    range_t live[2] = {{a[8], size}, {a[9], size}};
    probe(c, size, DF_PROBES, live, 2, no_target);
}

static void df_after_full_cache(sec_ctx_t *c) { df_full_cache_of(c, 64); }
/* Above ptmalloc's fastbin limit: glibc (and so compat mode) catches this
 * only by luck of the neighbours, and its promise says so. */
static void df_after_full_cache_600(sec_ctx_t *c) { df_full_cache_of(c, 600); }

/* ---- invalid free ---------------------------------------------------------- */

static void free_interior(sec_ctx_t *c)
{
    uint8_t *p = mallet_malloc(c->z, 128);
    STEP(c, "free(p + 16)");
    mallet_free(c->z, p + 16);
    RETURN_IF_REPORTED(c);
    range_t live = {p, 128};
    probe(c, 96, 4, &live, 1, no_target);
}

static void free_stack(sec_ctx_t *c)
{
    alignas(64) volatile unsigned char buf[256];
    memset((void *)buf, 0, sizeof buf);
    STEP(c, "free(stack address)");
    mallet_free(c->z, (void *)(buf + 64));
    RETURN_IF_REPORTED(c);
    range_t t = {(const void *)buf, sizeof buf};
    probe(c, 64, 4, NULL, 0, t);
}

static void free_global(sec_ctx_t *c)
{
    STEP(c, "free(global)");
    mallet_free(c->z, g_freed + 64);
    RETURN_IF_REPORTED(c);
    range_t t = {g_freed, sizeof g_freed};
    probe(c, 64, 4, NULL, 0, t);
}

static void free_zeroed_header(sec_ctx_t *c)
{
    uint8_t *big = mallet_malloc(c->z, 2048);
    memset(big, 0, 2048);
    STEP(c, "free(heap address with a zeroed header)");
    mallet_free(c->z, big + 512);
    RETURN_IF_REPORTED(c);
    range_t live = {big, 2048}, t = {big + 512 - 16, 128};
    probe(c, 64, 4, &live, 1, t);
}

/* Harness set-up that reads allocator metadata next to a block (not the
 * misuse under test): hidden from ASan/TSan, which would otherwise stop the
 * case before the backend is even called. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_SANITIZE_SETUP __attribute__((no_sanitize_address))
#elif defined(__SANITIZE_THREAD__)
#define NO_SANITIZE_SETUP __attribute__((no_sanitize_thread))
#else
#define NO_SANITIZE_SETUP
#endif

NO_SANITIZE_SETUP static void raw_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((volatile uint8_t *)dst)[i] = ((const volatile uint8_t *)src)[i];
}

/* Copies the 16 bytes before a real 64-byte block (its header, if the
 * backend keeps one there) in front of a fake block inside a live one. */
static void free_forged_header(sec_ctx_t *c)
{
    uint8_t *big = mallet_malloc(c->z, 2048);
    uint8_t *real = block_on_page(c, 64, 16, 16);
    if (!big || !real) {
        c->sh->not_run = 1;
        snprintf(c->sh->note, sizeof c->sh->note, "could not place a real block to copy a header from");
        return;
    }
    memset(big, 0, 2048);
    uint8_t *fake = big + 512;
    STEP(c, "forge a header (copy from a real block)");
    raw_copy(fake - 16, real - 16, 16);
    raw_copy(fake + 64, real + 64, 16); /* and what follows it (a next header) */
    STEP(c, "free(fake block with a forged header)");
    mallet_free(c->z, fake);
    RETURN_IF_REPORTED(c);
    range_t live[2] = {{big, 2048}, {real, 64}}, t = {fake - 16, 96};
    probe(c, 64, 6, live, 2, t);
}

/* ---- use after free ---------------------------------------------------------- */

static void uaf_write(sec_ctx_t *c, unsigned word)
{
    uint8_t *keep = mallet_malloc(c->z, 64);
    uint8_t *q = mallet_malloc(c->z, 64);
    uint8_t *p = mallet_malloc(c->z, 64);
    stress_pattern_fill(keep, 64, 7, 0);
    STEP(c, "free two blocks");
    mallet_free(c->z, q); /* p is then the head of a list with a successor */
    mallet_free(c->z, p);
    RETURN_IF_REPORTED(c);
    STEP(c, "write into the freed block");
    void *planted = g_target + 64;
    memcpy(p + word * sizeof(void *), &planted, sizeof planted);
    range_t live = {keep, 64}, t = {g_target, sizeof g_target};
    probe(c, 64, DF_PROBES, &live, 1, t);
    RETURN_IF_REPORTED(c);
    if (!c->sh->attacker && !c->sh->overlap && stress_pattern_verify(keep, 64, 7, 0) != SIZE_MAX) {
        c->sh->overlap = 1;
        snprintf(c->sh->note, sizeof c->sh->note, "a live block was overwritten by the follow-up allocations");
    }
}

/* A use-after-free write of a small integer over bytes 16..17 of a freed
 * 640 B block: where libmalloc's tiny tier keeps a free block's size (in
 * 16-byte quanta, 40 here), read when the block before is freed and merges
 * with it; a 97 there reaches across the live blocks that follow. Elsewhere
 * it is just a write into freed memory. (scalable reports this one even
 * without its session-5 check on that size, when a later malloc takes the
 * merged block; the misuse fuzzer's sequence that got past every other
 * check is the regression seed in corpora/misuse.) */
static void uaf_write_size(sec_ctx_t *c)
{
    uint8_t *before = mallet_malloc(c->z, 640), *freed = mallet_malloc(c->z, 640), *after[8];
    for (unsigned i = 0; i < 8; i++) {
        after[i] = mallet_malloc(c->z, 64);
        if (after[i])
            stress_pattern_fill(after[i], 64, 20 + i, 0);
    }
    STEP(c, "free a 640 B block");
    mallet_free(c->z, freed);
    RETURN_IF_REPORTED(c);
    STEP(c, "write 97 over its bytes 16..17");
    uint16_t forged = 97;
    memcpy(freed + 16, &forged, sizeof forged);
    STEP(c, "free the block before it");
    mallet_free(c->z, before);
    RETURN_IF_REPORTED(c);
    range_t live[8];
    for (unsigned i = 0; i < 8; i++)
        live[i] = (range_t){after[i], 64};
    probe(c, 64, 200, live, 8, no_target);
    RETURN_IF_REPORTED(c);
    for (unsigned i = 0; i < 8 && !c->sh->overlap; i++)
        if (after[i] && stress_pattern_verify(after[i], 64, 20 + i, 0) != SIZE_MAX) {
            c->sh->overlap = 1;
            snprintf(c->sh->note, sizeof c->sh->note, "live block %p was overwritten after the merge", after[i]);
        }
}

static void uaf_first_word(sec_ctx_t *c) { uaf_write(c, 0); }
static void uaf_second_word(sec_ctx_t *c) { uaf_write(c, 1); }

/* ---- overflows --------------------------------------------------------------- */

/* Two live 64-byte blocks a < b as close as the backend puts them. */
static bool adjacent_pair(sec_ctx_t *c, uint8_t **pa, uint8_t **pb)
{
    uint8_t *blk[16];
    for (unsigned i = 0; i < 16; i++)
        blk[i] = mallet_malloc(c->z, 64);
    uint8_t *a = NULL, *b = NULL;
    for (unsigned i = 0; i < 16; i++)
        for (unsigned k = 0; k < 16; k++)
            if (blk[i] && blk[k] && blk[k] > blk[i] && (!a || blk[k] - blk[i] < b - a)) {
                a = blk[i];
                b = blk[k];
            }
    for (unsigned i = 0; i < 16; i++)
        if (blk[i] != a && blk[i] != b)
            mallet_free(c->z, blk[i]);
    *pa = a;
    *pb = b;
    return a && b && b - a <= 256;
}

static void overflow_header(sec_ctx_t *c)
{
    uint8_t *a, *b;
    if (!adjacent_pair(c, &a, &b)) {
        c->sh->not_run = 1;
        snprintf(c->sh->note, sizeof c->sh->note, "no two 64-byte blocks within 256 bytes");
        return;
    }
    size_t gap = (size_t)(b - a) - 64;
    STEP(c, "overflow from a into b's header");
    /* Everything between a's 64 requested bytes and b (slack + header), and
     * b's first 16 bytes when there is nothing in between. */
    memset(a + 64, 0x41, gap ? gap : 16);
    snprintf(c->sh->note, sizeof c->sh->note, "%zu bytes between the blocks overwritten%s", gap ? gap : 16,
             gap ? "" : " (none: wrote b's first 16 bytes)");
    STEP(c, "free the overflowed neighbour");
    mallet_free(c->z, b);
    RETURN_IF_REPORTED(c);
    STEP(c, "free the overflowing block");
    mallet_free(c->z, a);
    RETURN_IF_REPORTED(c);
    probe(c, 64, 6, NULL, 0, no_target);
    c->sh->no_header = gap == 0;
}

static void off_by_one_nul(sec_ctx_t *c)
{
    uint8_t *a, *b;
    if (!adjacent_pair(c, &a, &b)) {
        c->sh->not_run = 1;
        snprintf(c->sh->note, sizeof c->sh->note, "no two 64-byte blocks within 256 bytes");
        return;
    }
    size_t usable = mallet_size(c->z, a);
    if (usable < 64 || usable > (size_t)(b - a) + 63) /* stay inside b */
        usable = 64;
    STEP(c, "write NUL one past the usable size");
    a[usable] = 0;
    snprintf(c->sh->note, sizeof c->sh->note, "NUL at offset %zu (blocks %td bytes apart)", usable, b - a);
    STEP(c, "free the neighbour");
    mallet_free(c->z, b);
    RETURN_IF_REPORTED(c);
    STEP(c, "free the block");
    mallet_free(c->z, a);
    RETURN_IF_REPORTED(c);
    probe(c, 64, 6, NULL, 0, no_target);
}

/* ---- realloc ----------------------------------------------------------------- */

static void realloc_freed(sec_ctx_t *c)
{
    void *p = mallet_malloc(c->z, 64);
    void *keep = mallet_malloc(c->z, 64);
    stress_pattern_fill(keep, 64, 9, 0);
    STEP(c, "free");
    mallet_free(c->z, p);
    STEP(c, "realloc of the freed block");
    void *q = mallet_realloc(c->z, p, 128);
    RETURN_IF_REPORTED(c);
    if (!q) {
        c->sh->returned_null = 1;
        c->sh->err = errno;
        return;
    }
    range_t live[2] = {{keep, 64}, {q, 128}};
    probe(c, 64, 6, live, 2, no_target);
}

/* ---- impossible sizes and bad alignments ------------------------------------ */

static void null_result(sec_ctx_t *c, void *p)
{
    if (p == NULL) {
        c->sh->returned_null = 1;
        c->sh->err = errno;
    } else {
        snprintf(c->sh->note, sizeof c->sh->note, "returned %p", p);
    }
}

static void calloc_overflow(sec_ctx_t *c)
{
    STEP(c, "calloc(SIZE_MAX/16 + 2, 16)");
    errno = 0;
    null_result(c, mallet_calloc(c->z, SIZE_MAX / 16 + 2, 16));
}

static void malloc_size_max(sec_ctx_t *c)
{
    STEP(c, "malloc(SIZE_MAX)");
    errno = 0;
    null_result(c, mallet_malloc(c->z, SIZE_MAX));
}

static void malloc_size_max_minus_page(sec_ctx_t *c)
{
    STEP(c, "malloc(SIZE_MAX - 4096 * 3)");
    errno = 0;
    null_result(c, mallet_malloc(c->z, SIZE_MAX - 4096 * 3));
}

static void memalign_3(sec_ctx_t *c)
{
    STEP(c, "memalign(3, 64)");
    errno = 0;
    null_result(c, mallet_memalign(c->z, 3, 64));
}

static void memalign_0(sec_ctx_t *c)
{
    STEP(c, "memalign(0, 64)");
    errno = 0;
    null_result(c, mallet_memalign(c->z, 0, 64));
}

static void memalign_huge(sec_ctx_t *c)
{
    STEP(c, "memalign(2^62, 64)");
    errno = 0;
    null_result(c, mallet_memalign(c->z, (size_t)1 << 62, 64));
}

static void posix_memalign_rc(sec_ctx_t *c, size_t align, size_t n)
{
    void *out = &out;
    errno = 0;
    int rc = mallet_posix_memalign(c->z, &out, align, n);
    if (rc != 0) {
        c->sh->returned_null = 1;
        c->sh->err = rc;
        if (out != &out)
            snprintf(c->sh->note, sizeof c->sh->note, "failed but changed *memptr to %p", out);
    } else {
        snprintf(c->sh->note, sizeof c->sh->note, "returned 0 and %p", out);
    }
}

static void posix_memalign_24(sec_ctx_t *c)
{
    STEP(c, "posix_memalign(&p, 24, 64)");
    posix_memalign_rc(c, 24, 64);
}

static void posix_memalign_4(sec_ctx_t *c)
{
    STEP(c, "posix_memalign(&p, 4, 64)");
    posix_memalign_rc(c, 4, 64);
}

static void aligned_alloc_24(sec_ctx_t *c)
{
    STEP(c, "aligned_alloc(24, 48)");
    errno = 0;
    null_result(c, mallet_aligned_alloc(c->z, 24, 48));
}

static void aligned_alloc_not_multiple(sec_ctx_t *c)
{
    STEP(c, "aligned_alloc(64, 100)");
    errno = 0;
    null_result(c, mallet_aligned_alloc(c->z, 64, 100));
}

const sec_case_t sec_cases[] = {
    {"double-free", "free(p); free(p)", SEC_DOUBLE_FREE_IMMEDIATE, 0, df_immediate, 64},
    {"double-free-interleaved", "free(p); free(q); free(p)", SEC_DOUBLE_FREE, 0, df_interleaved, 0},
    {"double-free-cache-full", "8 frees of the size first, then free(p); free(p)", SEC_DOUBLE_FREE_IMMEDIATE, 0,
     df_after_full_cache, 64},
    {"double-free-cache-full-600", "as double-free-cache-full, 600 B blocks", SEC_DOUBLE_FREE_IMMEDIATE, 0,
     df_after_full_cache_600, 600},
    {"free-interior", "free(p + 16)", SEC_INVALID_FREE, 0, free_interior, 0},
    {"free-stack", "free(stack address)", SEC_INVALID_FREE, 0, free_stack, 0},
    {"free-global", "free(global array)", SEC_INVALID_FREE, 0, free_global, 0},
    {"free-zeroed-header", "free(heap-looking address, zeroed header)", SEC_INVALID_FREE, 0,
     free_zeroed_header, 0},
    {"free-forged-header", "free(heap-looking address, header copied from a real block)", SEC_INVALID_FREE, 0,
     free_forged_header, 0},
    {"uaf-write-word0", "write a planted pointer to word 0 of a freed block, then malloc", SEC_FREELIST, 0,
     uaf_first_word, 0},
    {"uaf-write-word1", "write a planted pointer to word 1 of a freed block, then malloc", SEC_FREELIST, 0,
     uaf_second_word, 0},
    {"uaf-write-size", "write 97 over bytes 16..17 of a freed 640 B block, free the block before it, malloc",
     SEC_FREELIST, 0, uaf_write_size, 0},
    {"overflow-next-header", "overflow a block into its neighbour's header, free both", SEC_HEADER, 0,
     overflow_header, 0},
    {"off-by-one-nul", "write one NUL byte past the usable size, free both", SEC_HEADER_SOFT, 0,
     off_by_one_nul, 0},
    {"realloc-freed", "realloc(p, 128) after free(p)", SEC_REALLOC, 0, realloc_freed, 0},
    {"calloc-overflow", "calloc(SIZE_MAX/16 + 2, 16)", SEC_FRONTEND, ENOMEM, calloc_overflow, 0},
    {"malloc-size-max", "malloc(SIZE_MAX)", SEC_FRONTEND, ENOMEM, malloc_size_max, 0},
    {"malloc-near-size-max", "malloc(SIZE_MAX - 3 pages)", SEC_FRONTEND, ENOMEM, malloc_size_max_minus_page, 0},
    {"memalign-align-3", "memalign(3, 64)", SEC_FRONTEND, EINVAL, memalign_3, 0},
    {"memalign-align-0", "memalign(0, 64)", SEC_FRONTEND, EINVAL, memalign_0, 0},
    {"memalign-align-2^62", "memalign(2^62, 64)", SEC_FRONTEND, ENOMEM, memalign_huge, 0},
    {"posix_memalign-align-24", "posix_memalign(&p, 24, 64)", SEC_FRONTEND, EINVAL, posix_memalign_24, 0},
    {"posix_memalign-align-4", "posix_memalign(&p, 4, 64)", SEC_FRONTEND, EINVAL, posix_memalign_4, 0},
    {"aligned_alloc-align-24", "aligned_alloc(24, 48)", SEC_FRONTEND, EINVAL, aligned_alloc_24, 0},
    {"aligned_alloc-size-not-multiple", "aligned_alloc(64, 100)", SEC_FRONTEND, EINVAL,
     aligned_alloc_not_multiple, 0},
};
const size_t sec_ncases = sizeof sec_cases / sizeof sec_cases[0];
