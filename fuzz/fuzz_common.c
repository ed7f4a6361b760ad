/*
 * fuzz/fuzz_common.c — backend selection, recording error handler and the
 * shadow model shared by the ops, misuse and diff targets.
 *
 * The shadow model keeps, per slot, the block pointer, requested and
 * usable size and a pattern seed. Every allocation is checked for
 * alignment (16, or 8 for requests <= 8; the requested alignment for
 * memalign), usable size >= request and no overlap with any other live
 * block's usable range; calloc memory must read as zero. Every block is
 * filled with its own pattern over its usable size and verified before it
 * is freed or reallocated, so a backend handing out memory twice shows up
 * as a pattern mismatch even when the overlap check cannot see it.
 * Sizes are capped (fuzz_ops.h) and live bytes too, so an input never
 * asks for more than FZ_MAX_LIVE_BYTES at once.
 */
#define _GNU_SOURCE
#include "fuzz_common.h"
#include "os/os.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fz_verbose;
fz_errors_t fz_errors;

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mallet-fuzz: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (fz_errors.count)
        fprintf(stderr, "mallet-fuzz: first error report: kind %s ptr %p: %s\n",
                mallet_error_kind_name(fz_errors.first.kind), fz_errors.first.ptr,
                fz_errors.first.message);
    fflush(stderr);
    abort();
}

/* ---- backends ------------------------------------------------------------ */

static const mallet_backend_t *usable[32];
static size_t n_usable;
static bool usable_done;

static bool env_allows(const char *id)
{
    const char *list = getenv("MALLET_FUZZ_BACKENDS");
    if (list == NULL || *list == '\0')
        return true;
    size_t len = strlen(id);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == len && strncmp(p, id, len) == 0)
            return true;
        p += n + (e != NULL);
    }
    return false;
}

/* Peer libraries keep objects from their load-time constructors for the
 * process lifetime (tcmalloc's MallocExtension::Register `new`s one), and
 * their frames are not in the leak stacks LSan sees, so the module
 * suppressions of sanitizer_defaults.c cannot match: probing (which
 * dlopen()s the peers) runs with leak checking disabled instead. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

static void find_usable(void)
{
    if (usable_done)
        return;
    usable_done = true;
#ifdef MALLET_SEEDED_BUG
    /* cmake/MalletSeededBug.cmake: say it in every log of this binary */
    fprintf(stderr, "mallet-fuzz: WARNING: built with seeded bug '%s': a backend is broken on purpose\n",
            MALLET_SEEDED_BUG);
#endif
    if (__lsan_disable)
        __lsan_disable();
    const char *v = getenv("MALLET_FUZZ_VERBOSE");
    fz_verbose = v && *v && *v != '0';
    for (size_t i = 0; i < mallet_backend_count() && n_usable < 32; i++) {
        const mallet_backend_t *b = mallet_backend_at(i);
        char why[256];
        if (b == NULL || mallet_backend_find(b->id) != b || !env_allows(b->id))
            continue; /* not compiled in, or filtered out */
        if (b->available(why, sizeof why) != 0) {
            if (fz_verbose)
                fprintf(stderr, "mallet-fuzz: skipping %s: %s\n", b->id, why);
            continue;
        }
        usable[n_usable++] = b;
    }
    if (__lsan_enable)
        __lsan_enable();
    if (fz_verbose) {
        fprintf(stderr, "mallet-fuzz: %zu usable backends:", n_usable);
        for (size_t i = 0; i < n_usable; i++)
            fprintf(stderr, " %s", usable[i]->id);
        fputc('\n', stderr);
    }
}

size_t fz_backend_count(void)
{
    find_usable();
    return n_usable;
}

const mallet_backend_t *fz_backend(size_t i)
{
    find_usable();
    return i < n_usable ? usable[i] : NULL;
}

size_t fz_backends_with(uint64_t need, const mallet_backend_t **out, size_t max)
{
    size_t n = 0;
    find_usable();
    for (size_t i = 0; i < n_usable && n < max; i++)
        if ((usable[i]->caps & need) == need)
            out[n++] = usable[i];
    return n;
}

static struct { const mallet_backend_t *b; mallet_zone_t *z; } shared_zones[32];

#if defined(__SANITIZE_ADDRESS__)
#define FZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif

/* Zone options for fuzzing: every input creates and destroys its zones,
 * so reservations sized for a whole process were paid per input
 * (results/2026-11-25_fuzz_speed). An input never has more than
 * FZ_MAX_LIVE_BYTES (32 MiB) live, so ptmalloc's emulated brk needs far
 * less than its 64 GiB (and running out is legal: sysmalloc then falls
 * back to mmapped segments, as glibc does when sbrk fails).
 * Nano probes for its window upwards from 0x6000_0000_0000, where ASan's
 * own heap sits (4 TiB): with 2 GiB windows that was ~2000 failing mmaps
 * per zone; 512 GiB windows (the most nano.max_regions allows) find a free
 * one after 8. Without ASan the first window is free, so the default stays. */
static const char *fuzz_options(const mallet_backend_t *b)
{
    if (strcmp(b->id, "ptmalloc") == 0)
        return "ptmalloc.brk_reserve=256M";
#ifdef FZ_ASAN
    if (strcmp(b->id, "nano") == 0)
        return "nano.max_regions=1024";
#endif
    return NULL;
}

mallet_zone_t *fz_zone_open(const mallet_backend_t *b, bool *is_instance)
{
    char err[256] = "";
    *is_instance = (b->caps & MALLET_CAP_INSTANCES) != 0;
    if (!*is_instance)
        for (size_t i = 0; i < 32; i++)
            if (shared_zones[i].b == b)
                return shared_zones[i].z;
    mallet_zone_t *z = mallet_zone_create(b->id, fuzz_options(b), err, sizeof err);
    if (z == NULL)
        fz_fail("cannot create a zone of backend %s: %s", b->id, err);
    if (!*is_instance)
        for (size_t i = 0; i < 32; i++)
            if (shared_zones[i].b == NULL) {
                shared_zones[i].b = b;
                shared_zones[i].z = z;
                break;
            }
    return z;
}

void fz_zone_close(mallet_zone_t *z, bool is_instance)
{
    if (is_instance)
        mallet_zone_destroy(z);
}

/* ---- error path ----------------------------------------------------------- */

static void record_error(const mallet_error_report_t *rep, void *ctx)
{
    (void)ctx;
    if (fz_errors.count++ == 0)
        fz_errors.first = *rep;
    if (fz_verbose)
        fprintf(stderr, "mallet-fuzz: error report %s: %s\n", mallet_error_kind_name(rep->kind),
                rep->message);
}

void fz_errors_reset(void)
{
    static bool installed;
    if (!installed) {
        const char *v = getenv("MALLET_FUZZ_VERBOSE");
        fz_verbose = v && *v && *v != '0';
        mallet_error_set_handler(record_error, NULL);
        installed = true;
    }
    memset(&fz_errors, 0, sizeof fz_errors);
}

void fz_input_begin(const uint8_t *data, size_t size)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001B3ull;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    mallet_os_random_fuzz_seed(h);
#else
    (void)h; /* ctest's replay build keeps kernel entropy, as users' builds do */
#endif
    fz_errors_reset();
}

/* ---- shadow model ------------------------------------------------------ */

/* In the misuse target a report means the zone abandoned the operation
 * (NULL, no-op) on purpose; the caller stops using the zone. */
#define POISONED(r) ((r)->misuse && fz_errors.count > 0)

bool fz_known_misalign(const mallet_zone_t *z, size_t a, size_t n)
{
    return strcmp(z->backend->id, "mi") == 0 && strcmp(z->backend->version(), "mimalloc 2.0.9") == 0 &&
           a >= 256 && n % a == 0 && n <= 1024;
}

/* Byte positions written and verified in a block of n bytes: all of them
 * for blocks up to 8 KiB, else the first and last 4 KiB and every 61st
 * byte of the first 64 KiB, then one byte every 65599 (so most pages of a
 * big block are never touched: page faults dominated the exec rate).
 * Overlaps between live blocks are caught exactly by address ranges; the
 * pattern catches lost contents. Positions are absolute, so a block and
 * its realloc'd copy agree on them below the shorter length's tail. */
static inline size_t next_idx(size_t i, size_t n)
{
    if (n <= 8192 || i + 1 < 4096 || i + 1 >= n - 4096)
        return i + 1;
    size_t step = i < 65536 ? 61 : 65599;
    size_t j = (i / step + 1) * step; /* absolute lattice: same bytes for any n */
    return j < n - 4096 ? j : n - 4096;
}

/* The byte loops carry no coverage signal; uninstrumented they run faster.
 * noinline: inlined into an instrumented caller they were instrumented
 * after all (the coverage pass runs after inlining). */
#if defined(__clang__)
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define NO_COVERAGE
#endif

NO_COVERAGE static void fill(uint8_t *p, size_t from, size_t to, uint32_t seed)
{
    for (size_t i = from; i < to; i = next_idx(i, to))
        p[i] = fz_pattern_byte(seed, i);
}

void fz_run_init(fz_run_t *r, mallet_zone_t *z)
{
    memset(r, 0, sizeof *r);
    r->z = z;
    r->caps = z->caps;
    r->check_every = 8;
}

NO_COVERAGE void fz_verify_block(fz_run_t *r, unsigned s, const char *when)
{
    const fz_block_t *b = &r->slot[s];
    for (size_t i = 0; i < b->usable; i = next_idx(i, b->usable))
        if (b->p[i] != fz_pattern_byte(b->seed, i))
            fz_fail("%s: block %p (slot %u, %zu/%zu bytes) byte %zu is 0x%02x, expected 0x%02x %s",
                    r->z->backend->id, (void *)b->p, s, b->req, b->usable, i, b->p[i],
                    fz_pattern_byte(b->seed, i), when);
}

int fz_find_overlap(const fz_run_t *r, const void *p, size_t n, int except)
{
    uintptr_t a = (uintptr_t)p, e = a + (n ? n : 1);
    for (int s = 0; s < FZ_MAX_SLOTS; s++) {
        const fz_block_t *b = &r->slot[s];
        if (s == except || b->p == NULL)
            continue;
        uintptr_t ba = (uintptr_t)b->p, be = ba + (b->usable ? b->usable : 1);
        if (a < be && ba < e)
            return s;
    }
    return -1;
}

void fz_zone_check(fz_run_t *r, const char *when)
{
    if (!(r->caps & MALLET_CAP_CHECK))
        return;
    if (!mallet_check(r->z) && !r->misuse)
        fz_fail("%s: check() failed %s", r->z->backend->id, when);
}

/* Index of the first non-zero byte among the checked ones, or n. */
NO_COVERAGE static size_t first_nonzero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i = next_idx(i, n))
        if (p[i] != 0)
            return i;
    return n;
}

/* Checks a fresh block and adopts it into slot s (which must be empty). */
static void adopt(fz_run_t *r, unsigned s, void *p, size_t req, size_t align, uint32_t seed,
                  bool zeroed, size_t keep, const char *what)
{
    const char *id = r->z->backend->id;
    size_t need = align ? align : req <= 8 ? 8 : 16;
    if (((uintptr_t)p & (need - 1)) != 0 && !(align && fz_known_misalign(r->z, align, req)))
        fz_fail("%s: %s(%zu) = %p is not %zu-aligned", id, what, req, p, need);
    size_t usable = mallet_size(r->z, p);
    if (usable < req)
        fz_fail("%s: %s(%zu) = %p has usable size %zu", id, what, req, p, usable);
    int o = fz_find_overlap(r, p, usable, (int)s);
    if (o >= 0)
        fz_fail("%s: %s(%zu) = %p (+%zu) overlaps live block %p (+%zu) of slot %d", id, what, req,
                p, usable, (void *)r->slot[o].p, r->slot[o].usable, o);
    size_t nz = zeroed ? first_nonzero(p, req) : req;
    if (nz < req)
        fz_fail("%s: %s(%zu) = %p byte %zu is 0x%02x, not zero", id, what, req, p, nz, ((uint8_t *)p)[nz]);
    (void)keep; /* the lattice depends on the size: rewrite it all (same bytes where kept) */
    fill(p, 0, usable, seed);
    r->slot[s] = (fz_block_t){.p = p, .req = req, .usable = usable, .seed = seed};
    r->live_bytes += req;
}

void fz_free_slot(fz_run_t *r, unsigned s)
{
    fz_block_t *b = &r->slot[s];
    if (b->p == NULL)
        return;
    fz_verify_block(r, s, "before free");
    mallet_free(r->z, b->p);
    r->live_bytes -= b->req;
    memset(b, 0, sizeof *b);
}

static void forget(fz_run_t *r, unsigned s)
{
    r->live_bytes -= r->slot[s].req;
    memset(&r->slot[s], 0, sizeof r->slot[s]);
}

static bool over_cap(const fz_run_t *r, unsigned s, size_t add)
{
    size_t live = r->live_bytes - (r->slot[s].p ? r->slot[s].req : 0);
    return add > FZ_MAX_REQUEST || live + add > FZ_MAX_LIVE_BYTES;
}

static fz_outcome_t refused(fz_run_t *r, const char *what, size_t n, int want_errno)
{
    int e = errno;
    if (e != want_errno)
        fz_fail("%s: %s(%zu) returned NULL with errno %d, expected %d", r->z->backend->id, what, n,
                e, want_errno);
    return (fz_outcome_t){.status = FZ_NULL, .err = e};
}

/* ---- thread hand-off ------------------------------------------------------ */

typedef struct handoff {
    fz_run_t *r;
    void *ptrs[FZ_MAX_BATCH];
    unsigned n;
    size_t new_size;
    uint32_t seed;
    void *result;
} handoff_t;

static void *handoff_main(void *arg)
{
    handoff_t *h = arg;
    for (unsigned i = 0; i < h->n; i++)
        mallet_free(h->r->z, h->ptrs[i]);
    h->result = mallet_malloc(h->r->z, h->new_size);
    return NULL;
}

static fz_outcome_t do_handoff(fz_run_t *r, const fz_inst_t *in)
{
    handoff_t h = {.r = r, .seed = in->seed};
    unsigned first = FZ_MAX_SLOTS;
    for (unsigned k = 0; k < FZ_MAX_SLOTS && h.n < in->count; k++) {
        unsigned s = (in->slot + k) % FZ_MAX_SLOTS;
        if (r->slot[s].p == NULL)
            continue;
        fz_verify_block(r, s, "before hand-off");
        if (first == FZ_MAX_SLOTS) {
            first = s;
            h.new_size = r->slot[s].req;
        }
        h.ptrs[h.n++] = r->slot[s].p;
        forget(r, s);
    }
    if (first == FZ_MAX_SLOTS)
        return (fz_outcome_t){.status = FZ_SKIPPED};
    pthread_t t;
    if ((r->caps & MALLET_CAP_THREAD_SAFE) && r->handoffs < 4 && pthread_create(&t, NULL, handoff_main, &h) == 0) {
        r->handoffs++;
        pthread_join(t, NULL);
    } else {
        handoff_main(&h); /* not thread-safe (or thread budget spent): same ops here */
    }
    if (h.result == NULL && POISONED(r))
        return (fz_outcome_t){.status = FZ_NULL};
    if (h.result == NULL)
        fz_fail("%s: malloc(%zu) on another thread returned NULL", r->z->backend->id, h.new_size);
    adopt(r, first, h.result, h.new_size, 0, in->seed, false, 0, "malloc (other thread)");
    return (fz_outcome_t){.status = FZ_OK, .got = h.n};
}

/* ---- one instruction ------------------------------------------------------ */

static void verify_all(fz_run_t *r, const char *when)
{
    for (unsigned s = 0; s < FZ_MAX_SLOTS; s++)
        if (r->slot[s].p)
            fz_verify_block(r, s, when);
}

fz_outcome_t fz_exec(fz_run_t *r, const fz_inst_t *in)
{
    mallet_zone_t *z = r->z;
    unsigned s = in->slot;
    fz_block_t *b = &r->slot[s];
    fz_outcome_t out = {.status = FZ_OK};
    void *p;

    r->ops++;
    if (fz_verbose)
        fprintf(stderr, "mallet-fuzz: %s op %u %s slot %u size %zu count %u align %zu\n", z->backend->id,
                r->ops, fz_op_name(in->op), s, in->size, in->count, in->align);
    switch (in->op) {
    case FZ_OP_MALLOC:
    case FZ_OP_CALLOC:
    case FZ_OP_MEMALIGN: {
        bool is_calloc = in->op == FZ_OP_CALLOC, is_memalign = in->op == FZ_OP_MEMALIGN;
        size_t total = is_calloc ? in->size * in->count : in->size; /* only if !impossible */
        if (!in->impossible && over_cap(r, s, total))
            return (fz_outcome_t){.status = FZ_SKIPPED};
        fz_free_slot(r, s);
        errno = 0;
        p = is_calloc ? mallet_calloc(z, in->count, in->size)
            : is_memalign ? mallet_memalign(z, in->align, in->size)
                          : mallet_malloc(z, in->size);
        const char *what = is_calloc ? "calloc" : is_memalign ? "memalign" : "malloc";
        if (in->bad_align) {
            if (p)
                fz_fail("%s: memalign(%zu, %zu) = %p accepted a bad alignment", z->backend->id,
                        in->align, in->size, p);
            return refused(r, what, in->size, EINVAL);
        }
        if (in->impossible) {
            if (p)
                fz_fail("%s: %s(%u x %zu) = %p accepted an impossible size", z->backend->id, what,
                        is_calloc ? in->count : 1u, in->size, p);
            return refused(r, what, in->size, ENOMEM);
        }
        if (p == NULL && POISONED(r))
            return (fz_outcome_t){.status = FZ_NULL, .err = errno};
        if (p == NULL)
            fz_fail("%s: %s(%zu) returned NULL (errno %d)", z->backend->id, what, total, errno);
        adopt(r, s, p, total, is_memalign ? in->align : 0, in->seed, is_calloc, 0, what);
        break;
    }
    case FZ_OP_REALLOC: {
        if (!in->impossible && over_cap(r, s, in->size))
            return (fz_outcome_t){.status = FZ_SKIPPED};
        fz_block_t old = *b;
        if (old.p)
            fz_verify_block(r, s, "before realloc");
        errno = 0;
        p = mallet_realloc(z, old.p, in->size);
        if (in->impossible) {
            if (p)
                fz_fail("%s: realloc(%p, %zu) = %p accepted an impossible size", z->backend->id,
                        (void *)old.p, in->size, p);
            out = refused(r, "realloc", in->size, ENOMEM);
            if (old.p)
                fz_verify_block(r, s, "after a refused realloc");
            return out;
        }
        if (p == NULL) {
            if (in->size == 0 && old.p) { /* glibc style: freed */
                forget(r, s);
                return (fz_outcome_t){.status = FZ_SKIPPED};
            }
            if (POISONED(r))
                return (fz_outcome_t){.status = FZ_NULL, .err = errno};
            fz_fail("%s: realloc(%p, %zu) returned NULL (errno %d)", z->backend->id, (void *)old.p,
                    in->size, errno);
        }
        size_t keep = old.req < in->size ? old.req : in->size;
        for (size_t i = 0; old.p && i < keep; i = next_idx(i, old.usable))
            if (((uint8_t *)p)[i] != fz_pattern_byte(old.seed, i))
                fz_fail("%s: realloc(%p, %zu) = %p lost byte %zu of %zu", z->backend->id,
                        (void *)old.p, in->size, p, i, keep);
        if (old.p)
            forget(r, s);
        adopt(r, s, p, in->size, 0, old.p ? old.seed : in->seed, false, old.p ? keep : 0, "realloc");
        if (in->size == 0) { /* keep runs of different backends in step */
            fz_free_slot(r, s);
            out.status = FZ_SKIPPED;
        }
        break;
    }
    case FZ_OP_FREE:
    case FZ_OP_DOUBLE_FREE:
    case FZ_OP_INVALID_FREE:
        if (b->p == NULL)
            return (fz_outcome_t){.status = FZ_SKIPPED};
        fz_free_slot(r, s);
        break;
    case FZ_OP_FREE_DEFINITE_SIZE:
        if (b->p == NULL)
            return (fz_outcome_t){.status = FZ_SKIPPED};
        fz_verify_block(r, s, "before free_definite_size");
        mallet_free_definite_size(z, b->p, b->req);
        forget(r, s);
        break;
    case FZ_OP_BATCH_MALLOC: {
        unsigned idx[FZ_MAX_BATCH], n = 0;
        size_t live = r->live_bytes;
        for (unsigned k = 0; k < FZ_MAX_SLOTS && n < in->count; k++) {
            unsigned t = (s + k) % FZ_MAX_SLOTS;
            if (r->slot[t].p == NULL && live + in->size <= FZ_MAX_LIVE_BYTES) {
                idx[n++] = t;
                live += in->size;
            }
        }
        if (n == 0)
            return (fz_outcome_t){.status = FZ_SKIPPED};
        void *res[FZ_MAX_BATCH] = {0};
        unsigned got = mallet_batch_malloc(z, in->size, res, n);
        if (got > n)
            fz_fail("%s: batch_malloc returned %u of %u", z->backend->id, got, n);
        for (unsigned k = 0; k < got; k++) {
            if (res[k] == NULL && POISONED(r))
                break;
            if (res[k] == NULL)
                fz_fail("%s: batch_malloc result %u of %u is NULL", z->backend->id, k, got);
            adopt(r, idx[k], res[k], in->size, 0, in->seed + k, false, 0, "batch_malloc");
        }
        out.got = got;
        break;
    }
    case FZ_OP_BATCH_FREE: {
        void *ptrs[FZ_MAX_BATCH];
        unsigned n = 0;
        for (unsigned k = 0; k < FZ_MAX_SLOTS && n < in->count; k++) {
            unsigned t = (s + k) % FZ_MAX_SLOTS;
            if (r->slot[t].p) {
                fz_verify_block(r, t, "before batch_free");
                ptrs[n++] = r->slot[t].p;
                forget(r, t);
            }
        }
        if (n == 0)
            return (fz_outcome_t){.status = FZ_SKIPPED};
        mallet_batch_free(z, ptrs, n);
        out.got = n;
        break;
    }
    case FZ_OP_PRESSURE_RELIEF:
        mallet_pressure_relief(z, in->size);
        verify_all(r, "after pressure_relief");
        break;
    case FZ_OP_THREAD_HANDOFF:
        return do_handoff(r, in);
    case FZ_OP_WRITE:
    case FZ_OP_UAF_WRITE:
    case FZ_OP_OVERFLOW:
        if (b->p == NULL)
            return (fz_outcome_t){.status = FZ_SKIPPED};
        fz_verify_block(r, s, "before rewrite");
        b->seed = in->seed;
        fill(b->p, 0, b->usable, b->seed);
        break;
    case FZ_OP_CHECK: {
        fz_zone_check(r, "on request");
        verify_all(r, "at check");
        if (r->caps & MALLET_CAP_OWNERSHIP) {
            static char not_heap[64];
            if (mallet_size(z, not_heap) != 0)
                fz_fail("%s: size() of a static object is not 0", z->backend->id);
            for (unsigned t = 0; t < FZ_MAX_SLOTS; t++)
                if (r->slot[t].p && !mallet_claimed_address(z, r->slot[t].p))
                    fz_fail("%s: claimed_address(%p) is false for a live block", z->backend->id,
                            (void *)r->slot[t].p);
        }
        break;
    }
    default:
        return (fz_outcome_t){.status = FZ_SKIPPED};
    }
    if ((r->caps & MALLET_CAP_CHECK) && r->ops % r->check_every == 0)
        fz_zone_check(r, "after an operation");
    return out;
}

void fz_run_finish(fz_run_t *r)
{
    for (unsigned s = 0; s < FZ_MAX_SLOTS; s++)
        fz_free_slot(r, s);
    fz_zone_check(r, "at the end");
}
