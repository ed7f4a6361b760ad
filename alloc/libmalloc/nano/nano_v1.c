/*
 * nano_v1.c — libmalloc's first nano allocator (nano v1), on Linux.
 *
 * The zone window is cut by address bits (nano_layout.h): magazine (one
 * per physical CPU), band (2 MiB), slot (size class, a 128 KiB area in
 * every band). Each (magazine, slot) pair allocates from a lock-free LIFO
 * of freed blocks, else from a bump pointer through its current area;
 * when the area is used up it moves to the same slot of the next band,
 * mapping that band if no other slot of the magazine got there first.
 * Running out of bands marks the pair exhausted for good and its class
 * falls through to the helper zone.
 *
 * The LIFO head is a (pointer, generation) pair swapped with a 16-byte
 * CAS, so a head popped and pushed back in between never matches (ABA).
 * A pop reads the head block's next word before it owns the block; that
 * read may see user data of a block another thread just took, which the
 * failing CAS then discards. It is safe because the head pointer is vetted
 * against the layout first and nano memory is never unmapped while the
 * zone lives.
 *
 * Free blocks hold a guard word (address ^ cookie) and the next link.
 * Every dequeue vets the block with libmalloc's messages; free() confirms
 * a block that looks free by draining the LIFO before calling it a double
 * free (which the helper zone then reports, as in libmalloc).
 */
#include <errno.h>
#include <string.h>

#include "libmalloc/nano/nano_internal.h"

typedef unsigned __int128 u128;

/* Per (magazine, slot). The head and the bump pointer live on separate
 * cache lines: pops and bumps come from different code paths. */
typedef struct v1_slot {
    _Alignas(64) u128 head;         /* low 64 bits: block, high: generation */
    uintptr_t area_base;            /* current slot area */
    unsigned band;                  /* its band index (atomic, grows) */
    unsigned objects;               /* per area: 131072 / size */
    unsigned skipped;               /* objects skipped in the first area */
    uint32_t *advised;              /* one bit per page per band (pressure relief) */
    size_t advised_bands;           /* bands the advised map covers */
    _Alignas(64) uintptr_t bump;    /* next fresh block (atomic add) */
    uintptr_t limit;                /* end of the current area's objects */
    int exhausted;
    size_t slot_bytes;
} v1_slot_t;

typedef struct v1_state {
    unsigned mags, hyper_shift;
    unsigned top_band[NANOV1_MAX_MAGS];       /* bands mapped per magazine */
    mallet_lock_t resupply[NANOV1_MAX_MAGS];  /* growth and pressure relief */
    v1_slot_t slot[];                         /* [mags][16] */
} v1_state_t;

#define ST(nz) ((v1_state_t *)(nz)->state)
#define PAGES_PER_AREA (NANOV1_SLOT_AREA_SIZE / 4096)

static inline v1_slot_t *slot_of(v1_state_t *st, unsigned mag, unsigned cls)
{
    return &st->slot[mag * NANO_CLASSES + cls];
}
static inline uintptr_t area_addr(nano_zone_t *nz, unsigned mag, uint64_t band, unsigned cls)
{
    return nz->base + nanov1_area_off(mag, band, cls);
}

static inline void head_load(v1_slot_t *s, uintptr_t *ptr, uint64_t *gen)
{
    /* Two halves, not one atomic 16-byte read: the CAS validates the pair. */
    uint64_t *h = (uint64_t *)&s->head;
    *gen = __atomic_load_n(&h[1], __ATOMIC_ACQUIRE);
    *ptr = __atomic_load_n(&h[0], __ATOMIC_ACQUIRE);
}
static inline bool head_cas(v1_slot_t *s, uintptr_t optr, uint64_t ogen, uintptr_t nptr, uint64_t ngen)
{
    u128 o = ((u128)ogen << 64) | optr, n = ((u128)ngen << 64) | nptr;
    return __sync_bool_compare_and_swap(&s->head, o, n);
}

/* Pushes the chain first..last (already linked) in one CAS. */
static void push_chain(v1_slot_t *s, uintptr_t first, uintptr_t last)
{
    uintptr_t h;
    uint64_t g;
    do {
        head_load(s, &h, &g);
        nano_store((void *)(last + 8), h);
    } while (!head_cas(s, h, g, first, g + 1));
}

/* Takes the whole LIFO; returns its first block. */
static uintptr_t drain(v1_slot_t *s)
{
    uintptr_t h;
    uint64_t g;
    do
        head_load(s, &h, &g);
    while (h && !head_cas(s, h, g, 0, g + 1));
    return h;
}

/* Layout vetting, no memory read: 0 ok, else which check failed. */
enum { VET_OK, VET_SIGNATURE, VET_MAG, VET_SIZE, VET_POINTER };

/* Inlined: it runs twice per malloc/free pair (pop and free). */
static inline __attribute__((always_inline)) int vet_addr(nano_zone_t *nz, v1_state_t *st, uintptr_t p, unsigned mag,
                                                         unsigned cls)
{
    if (!nano_in_window(nz, (void *)p))
        return VET_SIGNATURE;
    uint64_t off = p - nz->base;
    unsigned m = nanov1_mag_of(off), c = nanov1_slot_of(off);
    if (m >= st->mags || m != mag)
        return VET_MAG;
    if (c != cls)
        return VET_SIZE;
    v1_slot_t *s = slot_of(st, m, c);
    uint64_t band = nanov1_band_of(off), aoff = nanov1_offset_in_area(off);
    unsigned cur = __atomic_load_n(&s->band, __ATOMIC_ACQUIRE);
    unsigned idx = nano_slot_index(aoff, c);
    if ((uint64_t)idx * s->slot_bytes != aoff || idx >= s->objects || band > cur)
        return VET_POINTER;
    if (band == cur && p >= __atomic_load_n(&s->bump, __ATOMIC_ACQUIRE))
        return VET_POINTER;
    if (band == 0 && idx < s->skipped)
        return VET_POINTER;
    return VET_OK;
}

static void report_dequeue(nano_zone_t *nz, int why, uintptr_t p)
{
    static const char *const msg[] = {
        [VET_SIGNATURE] = "Invalid signature for pointer %p dequeued from free list",
        [VET_MAG] = "Mismatched magazine for pointer %p dequeued from free list",
        [VET_SIZE] = "Mismatched size for pointer %p dequeued from free list",
        [VET_POINTER] = "Invalid pointer %p dequeued from free list",
    };
    NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)p, msg[why], (void *)p);
}

static void report_canary(nano_zone_t *nz, uintptr_t p, uint64_t guard)
{
    NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)p,
                "Heap corruption detected, free list canary is damaged for %p\n*** Incorrect guard value: %lu",
                (void *)p, (unsigned long)guard);
}

/* ---- growth ------------------------------------------------------------------------ */

/* Moves slot s of magazine mag to its area in the next band. Called with
 * the magazine's resupply lock held. */
static bool band_grow(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls, v1_slot_t *s)
{
    uint64_t band = (uint64_t)s->band + 1;
    if (band >= NANOV1_MAX_BANDS)
        return false; /* wrapped: exhausted */
    if (band >= st->top_band[mag]) {
        uintptr_t b = nz->base + ((uint64_t)mag << NANOV1_MAG_SHIFT) + (band << NANOV1_BAND_SHIFT);
        if (mallet_os_protect((void *)b, NANOV1_BAND_SIZE, MALLET_PROT_RW) != 0)
            return false;
        st->top_band[mag] = (unsigned)band + 1;
    }
    uintptr_t a = area_addr(nz, mag, band, cls);
    __atomic_store_n(&s->area_base, a, __ATOMIC_RELEASE);
    __atomic_store_n(&s->band, (unsigned)band, __ATOMIC_RELEASE);
    /* The bump pointer before the limit: a thread that still holds the old
     * limit then fails its bound check and comes here, instead of running
     * past the old area into another class's memory. */
    __atomic_store_n(&s->bump, a, __ATOMIC_RELEASE);
    __atomic_store_n(&s->limit, a + (uintptr_t)s->objects * s->slot_bytes, __ATOMIC_RELEASE);
    return true;
}

static void *bump_alloc(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls, v1_slot_t *s)
{
    for (;;) {
        uintptr_t lim = __atomic_load_n(&s->limit, __ATOMIC_ACQUIRE);
        uintptr_t b = __atomic_fetch_add(&s->bump, s->slot_bytes, __ATOMIC_ACQ_REL);
        if (b + s->slot_bytes <= lim && b >= lim - (uintptr_t)s->objects * s->slot_bytes)
            return (void *)b;
        if (__atomic_load_n(&s->exhausted, __ATOMIC_ACQUIRE))
            return NULL;
        mallet_lock(&st->resupply[mag]);
        uintptr_t base = s->area_base, nlim = s->limit;
        if (s->exhausted) {
            mallet_unlock(&st->resupply[mag]);
            return NULL;
        }
        if (nlim != lim) {
            mallet_unlock(&st->resupply[mag]);
            /* Grown meanwhile. A block taken from the new area is good. */
            if (b >= base && b + s->slot_bytes <= nlim)
                return (void *)b;
            continue;
        }
        if (!band_grow(nz, st, mag, cls, s)) {
            __atomic_store_n(&s->exhausted, 1, __ATOMIC_RELEASE);
            __atomic_store_n(&s->bump, s->limit, __ATOMIC_RELEASE); /* pinned */
        }
        mallet_unlock(&st->resupply[mag]);
    }
}

/* ---- malloc / free --------------------------------------------------------------------- */

static void *v1_malloc(nano_zone_t *nz, size_t n, bool zero, int *status)
{
    v1_state_t *st = ST(nz);
    unsigned cls = nano_size_class(n);
    unsigned mag = mallet_os_current_cpu_inline() >> st->hyper_shift;
    if (mag >= st->mags) /* a divide only when CPUs outnumber magazines */
        mag %= st->mags;
    v1_slot_t *s = slot_of(st, mag, cls);
    uintptr_t p;
    uint64_t g;
    for (;;) {
        head_load(s, &p, &g);
        if (p == 0)
            break;
        int why = vet_addr(nz, st, p, mag, cls);
        if (why != VET_OK) {
            uintptr_t p2;
            uint64_t g2;
            head_load(s, &p2, &g2);
            if (p2 != p || g2 != g)
                continue; /* a stale read, not a damaged list */
            report_dequeue(nz, why, p);
            *status = NANO_ABANDONED;
            return NULL;
        }
        uintptr_t next = nano_load_speculative((void *)(p + 8));
        uint64_t guard = nano_load_speculative((void *)p);
        if (!head_cas(s, p, g, next, g + 1))
            continue;
        if (guard != (p ^ nz->cookie)) {
            report_canary(nz, p, guard);
            *status = NANO_ABANDONED;
            return NULL;
        }
        if (zero)
            memset((void *)p, 0, s->slot_bytes);
        else
            nano_store((void *)p, 0), nano_store((void *)(p + 8), 0);
        *status = NANO_OK;
        return (void *)p;
    }
    void *b = bump_alloc(nz, st, mag, cls, s);
    *status = b ? NANO_OK : NANO_FALLTHROUGH; /* fresh memory is zero */
    return b;
}

/* Is p (which looks free) really on its LIFO? Drains the list, looks,
 * and puts the whole chain back in one push. -1 if the list is damaged. */
static int on_free_list(nano_zone_t *nz, v1_state_t *st, v1_slot_t *s, unsigned mag, unsigned cls, uintptr_t p)
{
    uintptr_t first = drain(s), q = first, last = 0;
    size_t limit = ((size_t)s->band + 1) * s->objects, n = 0;
    int found = 0;
    while (q) {
        if (vet_addr(nz, st, q, mag, cls) != VET_OK || ++n > limit) {
            NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)q,
                        "Free list walk for slot %p in _nano_block_inuse_p exceeded object count.",
                        (void *)s->area_base);
            return -1; /* the damaged list is dropped, not re-pushed */
        }
        found |= q == p;
        last = q;
        q = nano_load((void *)(q + 8));
    }
    if (first)
        push_chain(s, first, last);
    return found;
}

static int v1_vet_live(nano_zone_t *nz, v1_state_t *st, uintptr_t p, unsigned *mag, unsigned *cls)
{
    if (p & (NANO_QUANTUM - 1))
        return VET_POINTER;
    uint64_t off = p - nz->base;
    *mag = nanov1_mag_of(off), *cls = nanov1_slot_of(off);
    if (*mag >= st->mags)
        return VET_MAG;
    int why = vet_addr(nz, st, p, *mag, *cls);
    if (why != VET_OK)
        return why;
    v1_slot_t *s = slot_of(st, *mag, *cls);
    if (s->advised) { /* blocks on advised pages were dropped for good */
        uint64_t band = nanov1_band_of(off);
        unsigned pg = (unsigned)(nanov1_offset_in_area(off) / 4096);
        unsigned pg2 = (unsigned)((nanov1_offset_in_area(off) + s->slot_bytes - 1) / 4096);
        if (band < s->advised_bands && (s->advised[band] >> pg & 1 || s->advised[band] >> pg2 & 1))
            return VET_POINTER;
    }
    return VET_OK;
}

static size_t v1_size(nano_zone_t *nz, const void *ptr)
{
    unsigned mag, cls;
    uintptr_t p = (uintptr_t)ptr;
    if (v1_vet_live(nz, ST(nz), p, &mag, &cls) != VET_OK || nano_load(ptr) == (p ^ nz->cookie))
        return 0;
    return nano_class_bytes(cls);
}

static int v1_free(nano_zone_t *nz, void *ptr, size_t declared)
{
    v1_state_t *st = ST(nz);
    uintptr_t p = (uintptr_t)ptr;
    unsigned mag, cls;
    if (v1_vet_live(nz, st, p, &mag, &cls) != VET_OK)
        return NANO_FALLTHROUGH; /* not a nano block: the helper decides */
    v1_slot_t *s = slot_of(st, mag, cls);
    if (declared && !nano_size_fits_class(declared, cls)) {
        NANO_REPORT(nz, MALLET_ERR_SIZE_MISMATCH, false, ptr, "Freeing pointer %p whose size was misdeclared", ptr);
        return NANO_ABANDONED;
    }
    if (nano_load(ptr) == (p ^ nz->cookie)) {
        int r = on_free_list(nz, st, s, mag, cls, p);
        if (r < 0)
            return NANO_ABANDONED;
        if (r > 0)
            return NANO_FALLTHROUGH; /* a double free: the helper reports it */
    }
    nano_store(ptr, p ^ nz->cookie);
    push_chain(s, p, p); /* onto the owning magazine's list */
    return NANO_OK;
}

static bool v1_claimed(nano_zone_t *nz, const void *ptr)
{
    v1_state_t *st = ST(nz);
    uint64_t off = (uintptr_t)ptr - nz->base;
    unsigned mag = nanov1_mag_of(off);
    return mag < st->mags && nanov1_band_of(off) < __atomic_load_n(&st->top_band[mag], __ATOMIC_RELAXED);
}

/* ---- walking a slot (pressure relief, check, enumerate, statistics) ---------------- */

typedef struct slot_map {
    uint64_t *bits; /* one bit per object of every band up to the current one */
    size_t bytes;
    size_t nbits;   /* objects covered: a block beyond is from a newer band */
} slot_map_t;

static bool map_alloc(slot_map_t *m, size_t nbits)
{
    size_t pg = mallet_os_page_size();
    m->bytes = ((nbits + 63) / 64 * 8 + pg - 1) & ~(pg - 1);
    m->nbits = nbits;
    m->bits = mallet_os_map(NULL, m->bytes, MALLET_PROT_RW);
    return m->bits != NULL;
}
static void map_free(slot_map_t *m)
{
    if (m->bits)
        mallet_os_unmap(m->bits, m->bytes);
    m->bits = NULL;
}
static inline bool map_get(const slot_map_t *m, size_t i) { return m->bits[i / 64] >> (i % 64) & 1; }
static inline void map_set(slot_map_t *m, size_t i) { m->bits[i / 64] |= 1ull << (i % 64); }

/* What a chain walk found wrong: nothing, a bad address (vet_addr's code),
 * a loop / too many blocks, or a bad guard word. */
typedef struct chain_fault {
    enum { CF_NONE, CF_ADDR, CF_COUNT, CF_CANARY, CF_STALE } kind;
    int why;
    uintptr_t at;
    uint64_t guard;
} chain_fault_t;

/* Marks the blocks of the chain at `first` in m. Returns false with `f`
 * filled (nothing reported) if the chain, as read, is damaged. */
static bool mark_chain(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls, uintptr_t first,
                       slot_map_t *m, chain_fault_t *f)
{
    v1_slot_t *s = slot_of(st, mag, cls);
    size_t total = ((size_t)s->band + 1) * s->objects, n = 0;
    *f = (chain_fault_t){CF_NONE, 0, 0, 0};
    for (uintptr_t q = first; q; q = nano_load((void *)(q + 8))) {
        int why = vet_addr(nz, st, q, mag, cls);
        if (why != VET_OK) {
            *f = (chain_fault_t){CF_ADDR, why, q, 0};
            return false;
        }
        uint64_t off = q - nz->base;
        size_t i = nanov1_band_of(off) * s->objects + nanov1_offset_in_area(off) / s->slot_bytes;
        if (i >= m->nbits) { /* the slot grew a band after the map was sized */
            *f = (chain_fault_t){CF_STALE, 0, q, 0};
            return false;
        }
        if (++n > total || map_get(m, i)) {
            *f = (chain_fault_t){CF_COUNT, 0, q, 0};
            return false;
        }
        uint64_t guard = nano_load((void *)q);
        if (guard != (q ^ nz->cookie)) {
            *f = (chain_fault_t){CF_CANARY, 0, q, guard};
            return false;
        }
        map_set(m, i);
    }
    return true;
}

static void report_chain_fault(nano_zone_t *nz, const v1_slot_t *s, const chain_fault_t *f)
{
    switch (f->kind) {
    case CF_ADDR: report_dequeue(nz, f->why, f->at); break;
    case CF_COUNT:
        NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)f->at,
                    "Free list walk for slot %p in _nano_block_inuse_p exceeded object count.",
                    (void *)s->area_base);
        break;
    case CF_CANARY: report_canary(nz, f->at, f->guard); break;
    case CF_NONE:
    case CF_STALE: break; /* nothing wrong, the snapshot was old */
    }
}

enum { B_UNUSED, B_LIVE, B_FREE, B_DROPPED };

static inline bool page_advised(const v1_slot_t *s, uint64_t band, size_t aoff, size_t len)
{
    if (!s->advised || band >= s->advised_bands)
        return false;
    return (s->advised[band] >> (aoff / 4096) & 1) || (s->advised[band] >> ((aoff + len - 1) / 4096) & 1);
}

static int block_state(const v1_slot_t *s, uint64_t band, unsigned idx, unsigned cur, uintptr_t addr,
                       uintptr_t bump, const slot_map_t *m)
{
    if ((band == cur && addr >= bump) || (band == 0 && idx < s->skipped))
        return B_UNUSED;
    if (page_advised(s, band, (size_t)idx * s->slot_bytes, s->slot_bytes))
        return B_DROPPED;
    return map_get(m, band * s->objects + idx) ? B_FREE : B_LIVE;
}

/* Live blocks of one slot; also reports them to `rec` when given. */
typedef struct v1_walk {
    size_t live, live_bytes;
    void *rctx;
    mallet_range_recorder_t rec;
    mallet_range_t buf[256];
    unsigned nbuf;
} v1_walk_t;

static bool walk_slot(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls, v1_walk_t *w, bool report)
{
    v1_slot_t *s = slot_of(st, mag, cls);
    unsigned cur = __atomic_load_n(&s->band, __ATOMIC_ACQUIRE);
    uintptr_t bump = __atomic_load_n(&s->bump, __ATOMIC_ACQUIRE), h;
    uint64_t g;
    slot_map_t m = {0};
    if (!map_alloc(&m, ((size_t)cur + 1) * s->objects))
        return true; /* cannot look: say nothing rather than guess */
    /* Other threads push and pop while check() walks (the stress harness
     * calls it on a live zone). Every push and pop moves the head's
     * generation, so damage counts only if the head held still during the
     * walk; else walk again. A slot that never holds still is not judged. */
    chain_fault_t f = {CF_NONE, 0, 0, 0};
    bool ok = true;
    for (int attempt = 0; attempt < 64; attempt++) {
        uintptr_t h2;
        uint64_t g2;
        head_load(s, &h, &g);
        memset(m.bits, 0, m.bytes);
        ok = mark_chain(nz, st, mag, cls, h, &m, &f);
        head_load(s, &h2, &g2);
        if (f.kind == CF_STALE) { /* cannot judge with this map: say nothing */
            ok = true;
            break;
        }
        if (h2 == h && g2 == g)
            break;
        ok = true; /* moved: what we saw proves nothing */
        f.kind = CF_NONE;
    }
    if (!ok && report)
        report_chain_fault(nz, s, &f);
    for (uint64_t band = 0; band <= cur && ok; band++) {
        uintptr_t area = area_addr(nz, mag, band, cls);
        for (unsigned i = 0; i < s->objects; i++) {
            uintptr_t a = area + (uintptr_t)i * s->slot_bytes;
            if (block_state(s, band, i, cur, a, bump, &m) != B_LIVE)
                continue;
            w->live++, w->live_bytes += s->slot_bytes;
            if (w->rec) {
                w->buf[w->nbuf++] = (mallet_range_t){a, s->slot_bytes};
                if (w->nbuf == 256)
                    w->rec(w->rctx, MALLET_ENUM_BLOCKS, w->buf, w->nbuf), w->nbuf = 0;
            }
        }
    }
    map_free(&m);
    return ok;
}

static int v1_check(nano_zone_t *nz)
{
    v1_state_t *st = ST(nz);
    for (unsigned mag = 0; mag < st->mags; mag++)
        for (unsigned cls = 0; cls < NANO_CLASSES; cls++) {
            v1_walk_t w = {0};
            if (!walk_slot(nz, st, mag, cls, &w, true))
                return 0;
        }
    return 1;
}

static void v1_statistics(nano_zone_t *nz, mallet_zone_stats_t *out)
{
    v1_state_t *st = ST(nz);
    v1_walk_t w = {0};
    size_t advised = 0, mapped = 0;
    for (unsigned mag = 0; mag < st->mags; mag++) {
        mapped += (size_t)st->top_band[mag] * NANOV1_BAND_SIZE;
        for (unsigned cls = 0; cls < NANO_CLASSES; cls++) {
            v1_slot_t *s = slot_of(st, mag, cls);
            walk_slot(nz, st, mag, cls, &w, false);
            for (size_t b = 0; s->advised && b < s->advised_bands; b++)
                advised += (size_t)__builtin_popcount(s->advised[b]) * 4096;
        }
    }
    out->blocks_in_use += w.live;
    out->size_in_use += w.live_bytes;
    out->size_allocated += mapped - advised + nz->state_size;
}

static void v1_enumerate(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    v1_state_t *st = ST(nz);
    v1_walk_t w = {.rctx = ctx, .rec = rec};
    if (mask & MALLET_ENUM_BLOCKS) {
        for (unsigned mag = 0; mag < st->mags; mag++)
            for (unsigned cls = 0; cls < NANO_CLASSES; cls++)
                walk_slot(nz, st, mag, cls, &w, false);
        if (w.nbuf)
            rec(ctx, MALLET_ENUM_BLOCKS, w.buf, w.nbuf);
    }
    if (mask & MALLET_ENUM_REGIONS)
        for (unsigned mag = 0; mag < st->mags; mag++) {
            mallet_range_t r = {nz->base + ((uint64_t)mag << NANOV1_MAG_SHIFT),
                                (size_t)st->top_band[mag] * NANOV1_BAND_SIZE};
            rec(ctx, MALLET_ENUM_REGIONS, &r, 1);
        }
    if (mask & MALLET_ENUM_ADMIN) {
        mallet_range_t r = {(uintptr_t)st, nz->state_size};
        rec(ctx, MALLET_ENUM_ADMIN, &r, 1);
    }
}

/* ---- pressure relief ------------------------------------------------------------------ */

static bool grow_advised(v1_slot_t *s, size_t bands)
{
    if (bands <= s->advised_bands)
        return true;
    size_t pg = mallet_os_page_size(), cap = (bands * 2 * sizeof(uint32_t) + pg - 1) & ~(pg - 1);
    uint32_t *n = mallet_os_map(NULL, cap, MALLET_PROT_RW);
    if (n == NULL)
        return false;
    if (s->advised) {
        memcpy(n, s->advised, s->advised_bands * sizeof(uint32_t));
        size_t old = (s->advised_bands * sizeof(uint32_t) + pg - 1) & ~(pg - 1);
        mallet_os_unmap(s->advised, old);
    }
    s->advised = n;
    s->advised_bands = cap / sizeof(uint32_t);
    return true;
}

/* Drains the slot's LIFO, gives back every page no live block touches,
 * drops the free blocks on those pages and pushes the rest back.
 * Called with the magazine's resupply lock held (no band growth). */
static size_t relieve_slot(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls)
{
    v1_slot_t *s = slot_of(st, mag, cls);
    unsigned cur = s->band;
    if (!grow_advised(s, (size_t)cur + 1))
        return 0;
    slot_map_t m = {0};
    if (!map_alloc(&m, ((size_t)cur + 1) * s->objects))
        return 0;
    uintptr_t first = drain(s);
    uintptr_t bump = __atomic_load_n(&s->bump, __ATOMIC_ACQUIRE);
    size_t released = 0;
    chain_fault_t f;
    if (!mark_chain(nz, st, mag, cls, first, &m, &f)) {
        /* Damaged: reported, and the list stays dropped. (CF_STALE, a band
         * grown between sizing the map and draining, drops the list too:
         * its blocks leak, nothing unsafe is touched.) */
        report_chain_fault(nz, s, &f);
        map_free(&m);
        return 0;
    }
    size_t size = s->slot_bytes;
    for (uint64_t band = 0; band <= cur; band++) {
        uintptr_t area = area_addr(nz, mag, band, cls);
        for (unsigned pg = 0; pg < PAGES_PER_AREA; pg++) {
            if (s->advised[band] >> pg & 1)
                continue;
            size_t lo = (size_t)pg * 4096, hi = lo + 4096;
            if (lo >= (size_t)s->objects * size)
                break;
            bool live = false, touched = false;
            for (unsigned i = (unsigned)(lo / size); i < s->objects && (size_t)i * size < hi; i++) {
                uintptr_t a = area + (uintptr_t)i * size;
                /* Blocks at or past the bump may be handed out right now. */
                int bs = block_state(s, band, i, cur, a, bump, &m);
                if (band == cur && a >= bump)
                    live = true;
                if (bs == B_LIVE)
                    live = true;
                if (bs == B_FREE)
                    touched = true;
            }
            if (live || !touched)
                continue;
            if (mallet_os_decommit((void *)(area + lo), 4096, MALLET_DECOMMIT_EAGER) == 0) {
                s->advised[band] |= 1u << pg;
                released += 4096;
            }
        }
    }
    /* Re-push the free blocks that kept their pages. */
    uintptr_t head = 0, tail = 0;
    for (uintptr_t q = first, nx; q; q = nx) {
        nx = nano_load((void *)(q + 8));
        uint64_t off = q - nz->base;
        if (page_advised(s, nanov1_band_of(off), nanov1_offset_in_area(off), size))
            continue;
        if (tail)
            nano_store((void *)(tail + 8), q);
        else
            head = q;
        tail = q;
    }
    if (head)
        push_chain(s, head, tail);
    map_free(&m);
    return released;
}

static size_t v1_pressure_relief(nano_zone_t *nz, size_t goal)
{
    v1_state_t *st = ST(nz);
    size_t total = 0;
    for (unsigned mag = 0; mag < st->mags; mag++) {
        mallet_lock(&st->resupply[mag]);
        for (unsigned cls = 0; cls < NANO_CLASSES && (goal == 0 || total < goal); cls++)
            total += relieve_slot(nz, st, mag, cls);
        mallet_unlock(&st->resupply[mag]);
    }
    return total;
}

/* ---- print, locks, life cycle ---------------------------------------------------------- */

static void v1_print(nano_zone_t *nz, int fd, bool verbose)
{
    v1_state_t *st = ST(nz);
    mallet_os_printf(fd, "nanov1 zone %s: window %#lx+%#lx, %u magazines (hyper shift %u)\n", nz->name,
                     (unsigned long)nz->base, (unsigned long)nz->window, st->mags, st->hyper_shift);
    for (unsigned mag = 0; mag < st->mags; mag++) {
        mallet_os_printf(fd, "  magazine %u: %u bands mapped\n", mag, st->top_band[mag]);
        for (unsigned cls = 0; verbose && cls < NANO_CLASSES; cls++) {
            v1_slot_t *s = slot_of(st, mag, cls);
            v1_walk_t w = {0};
            walk_slot(nz, st, mag, cls, &w, false);
            mallet_os_printf(fd, "    slot %3zu: band %u, bump %#lx, %zu live%s\n", s->slot_bytes, s->band,
                             (unsigned long)s->bump, w.live, s->exhausted ? ", exhausted" : "");
        }
    }
}

static void v1_force_lock(nano_zone_t *nz)
{
    for (unsigned m = 0; m < ST(nz)->mags; m++)
        mallet_lock(&ST(nz)->resupply[m]);
}
static void v1_force_unlock(nano_zone_t *nz)
{
    for (unsigned m = 0; m < ST(nz)->mags; m++)
        mallet_unlock(&ST(nz)->resupply[m]);
}
static void v1_reinit_lock(nano_zone_t *nz)
{
    for (unsigned m = 0; m < ST(nz)->mags; m++)
        mallet_lock_reinit(&ST(nz)->resupply[m]);
}

static int v1_init(nano_zone_t *nz, char *err, size_t errlen)
{
    unsigned logical = mallet_os_cpu_count(), phys = mallet_os_physical_cpu_count();
    if (phys == 0)
        phys = logical ? logical : 1;
    unsigned ratio = logical / phys, shift = ratio == 4 ? 2 : ratio == 2 ? 1 : 0;
    unsigned mags = nz->cfg.max_magazines ? (unsigned)nz->cfg.max_magazines : phys;
    if (mags > NANOV1_MAX_MAGS) {
        snprintf(err, errlen, "nanozone abandoned because NCPUS > max magazines");
        return ENOTSUP;
    }
    size_t pg = mallet_os_page_size();
    size_t ssize = (sizeof(v1_state_t) + mags * NANO_CLASSES * sizeof(v1_slot_t) + pg - 1) & ~(pg - 1);
    v1_state_t *st = mallet_os_map(NULL, ssize, MALLET_PROT_RW);
    if (st == NULL) {
        snprintf(err, errlen, "nano: cannot map the v1 state");
        return ENOMEM;
    }
    nz->state = st, nz->state_size = ssize;
    st->mags = mags, st->hyper_shift = shift;
    size_t window = NANOV1_MAG_SPAN;
    while (window < (size_t)mags * NANOV1_MAG_SPAN)
        window <<= 1;
    int rc = nano_reserve_window(nz, window);
    if (rc != 0) {
        snprintf(err, errlen, "no free %zu GiB range at %#llx..%#llx: %s", window >> 30,
                 (unsigned long long)NANO_RANGE_BASE, (unsigned long long)(NANO_RANGE_BASE + NANO_RANGE_SIZE),
                 strerror(rc));
        return rc;
    }
    for (unsigned mag = 0; mag < mags; mag++) {
        mallet_lock_init(&st->resupply[mag]);
        void *band0 = (void *)(nz->base + ((uint64_t)mag << NANOV1_MAG_SHIFT));
        if (mallet_os_protect(band0, NANOV1_BAND_SIZE, MALLET_PROT_RW) != 0) {
            snprintf(err, errlen, "nano: cannot map the first band");
            return ENOMEM;
        }
        mallet_os_name_mapping(band0, NANOV1_BAND_SIZE, "mallet nano band");
        st->top_band[mag] = 1;
        for (unsigned cls = 0; cls < NANO_CLASSES; cls++) {
            v1_slot_t *s = slot_of(st, mag, cls);
            s->slot_bytes = nano_class_bytes(cls);
            s->objects = (unsigned)(NANOV1_SLOT_AREA_SIZE / s->slot_bytes);
            /* Entropy: the first area starts at a random object. */
            s->skipped = (unsigned)(mallet_os_random64() % s->objects);
            s->area_base = area_addr(nz, mag, 0, cls);
            s->bump = s->area_base + (uintptr_t)s->skipped * s->slot_bytes;
            s->limit = s->area_base + (uintptr_t)s->objects * s->slot_bytes;
        }
    }
    return 0;
}

static void v1_fini(nano_zone_t *nz)
{
    v1_state_t *st = ST(nz);
    if (st) {
        size_t pg = mallet_os_page_size();
        for (unsigned i = 0; i < st->mags * NANO_CLASSES; i++)
            if (st->slot[i].advised)
                mallet_os_unmap(st->slot[i].advised,
                                (st->slot[i].advised_bands * sizeof(uint32_t) + pg - 1) & ~(pg - 1));
        mallet_os_unmap(st, nz->state_size);
    }
    if (nz->window)
        mallet_os_unmap((void *)nz->base, nz->window);
    nz->window = 0, nz->state = NULL;
}

const nano_ops_t nano_v1_ops = {
    .name = "v1",
    .init = v1_init,
    .fini = v1_fini,
    .malloc = v1_malloc,
    .size = v1_size,
    .free = v1_free,
    .claimed = v1_claimed,
    .pressure_relief = v1_pressure_relief,
    .check = v1_check,
    .enumerate = v1_enumerate,
    .statistics = v1_statistics,
    .print = v1_print,
    .force_lock = v1_force_lock,
    .force_unlock = v1_force_unlock,
    .reinit_lock = v1_reinit_lock,
};
