/*
 * nano_v1_walk.c — nano v1's introspection and pressure relief: walking a
 * (magazine, slot) pair's LIFO into a bitmap of free objects, then judging
 * every object handed out so far as live, free or dropped. check(),
 * statistics(), enumerate() and print() run on a live zone: a walk counts
 * only if the LIFO head held still meanwhile. Pressure relief drains the
 * LIFO under the magazine's resupply lock, gives back the pages no live
 * object touches and pushes back the free objects that kept their pages.
 */
#include <string.h>

#include "libmalloc/nano/nano_v1.h"

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
        int why = vet_addr(nz, s, q, mag, cls);
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
    case CF_ADDR: nano_v1_report_dequeue(nz, f->why, f->at); break;
    case CF_COUNT:
        NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)f->at,
                    "Free list walk for slot %p in _nano_block_inuse_p exceeded object count.",
                    (void *)s->area_base);
        break;
    case CF_CANARY: nano_v1_report_canary(nz, f->at, f->guard); break;
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

int nano_v1_check(nano_zone_t *nz)
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

void nano_v1_statistics(nano_zone_t *nz, mallet_zone_stats_t *out)
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

void nano_v1_enumerate(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec)
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
        push_chain(s, false, head, tail);
    map_free(&m);
    return released;
}

size_t nano_v1_pressure_relief(nano_zone_t *nz, size_t goal)
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

/* ---- print ------------------------------------------------------------------------------ */

void nano_v1_print(nano_zone_t *nz, int fd, bool verbose)
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

