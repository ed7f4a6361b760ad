/*
 * nano_v1.h — what nano_v1.c (allocation, free, growth, life cycle) shares
 * with nano_v1_walk.c (check, statistics, enumerate, print, pressure
 * relief): the slot and state structs, the LIFO head operations and the
 * layout vetting. See nano_v1.c for the design.
 */
#ifndef MALLET_NANO_V1_H
#define MALLET_NANO_V1_H

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
/* solo (nano_solo(): the process has one thread): the head just loaded
 * is still current, so the swap is two plain stores, with the generation
 * still advanced for the CASes of threads that come later. */
static inline bool head_cas(v1_slot_t *s, bool solo, uintptr_t optr, uint64_t ogen, uintptr_t nptr,
                            uint64_t ngen)
{
    if (solo) {
        uint64_t *h = (uint64_t *)&s->head;
        __atomic_store_n(&h[0], nptr, __ATOMIC_RELAXED);
        __atomic_store_n(&h[1], ngen, __ATOMIC_RELAXED);
        return true;
    }
    u128 o = ((u128)ogen << 64) | optr, n = ((u128)ngen << 64) | nptr;
    return __sync_bool_compare_and_swap(&s->head, o, n);
}

/* Pushes the chain first..last (already linked) in one CAS. */
static inline void push_chain(v1_slot_t *s, bool solo, uintptr_t first, uintptr_t last)
{
    uintptr_t h;
    uint64_t g;
    do {
        head_load(s, &h, &g);
        nano_store((void *)(last + 8), h);
    } while (!head_cas(s, solo, h, g, first, g + 1));
}

/* Takes the whole LIFO; returns its first block. */
static inline uintptr_t drain(v1_slot_t *s)
{
    uintptr_t h;
    uint64_t g;
    do
        head_load(s, &h, &g);
    while (h && !head_cas(s, false, h, g, 0, g + 1));
    return h;
}

/* Layout vetting, no memory read: 0 ok, else which check failed. */
enum { VET_OK, VET_SIGNATURE, VET_MAG, VET_SIZE, VET_POINTER };

/* The checks that need the slot: a whole object of an area that exists
 * and was handed out (below the bump pointer, past the skipped start). */
static inline __attribute__((always_inline)) int vet_in_slot(const v1_slot_t *s, uintptr_t p, uint64_t off,
                                                            unsigned cls)
{
    uint64_t band = nanov1_band_of(off), aoff = nanov1_offset_in_area(off);
    unsigned cur = __atomic_load_n(&s->band, __ATOMIC_ACQUIRE);
    unsigned idx = nano_slot_index(aoff, cls);
    if ((uint64_t)idx * nano_class_bytes(cls) != aoff || idx >= s->objects || band > cur)
        return VET_POINTER;
    if (band == cur && p >= __atomic_load_n(&s->bump, __ATOMIC_ACQUIRE))
        return VET_POINTER;
    if (band == 0 && idx < s->skipped)
        return VET_POINTER;
    return VET_OK;
}

/* A block dequeued from slot s (magazine mag, class cls): libmalloc's
 * four dequeue checks. Inlined: it runs on every pop. */
static inline __attribute__((always_inline)) int vet_addr(nano_zone_t *nz, const v1_slot_t *s, uintptr_t p,
                                                         unsigned mag, unsigned cls)
{
    if (!nano_in_window(nz, (void *)p))
        return VET_SIGNATURE;
    uint64_t off = p - nz->base;
    if (nanov1_mag_of(off) != mag)
        return VET_MAG;
    if (nanov1_slot_of(off) != cls)
        return VET_SIZE;
    return vet_in_slot(s, p, off, cls);
}

/* Dequeue and canary reports in libmalloc's words (nano_v1.c). */
__attribute__((cold)) void nano_v1_report_dequeue(nano_zone_t *nz, int why, uintptr_t p);
__attribute__((cold)) void nano_v1_report_canary(nano_zone_t *nz, uintptr_t p, uint64_t guard);

/* nano_v1_walk.c: the introspection and pressure relief of nano_v1_ops. */
int nano_v1_check(nano_zone_t *nz);
void nano_v1_statistics(nano_zone_t *nz, mallet_zone_stats_t *s);
void nano_v1_enumerate(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec);
void nano_v1_print(nano_zone_t *nz, int fd, bool verbose);
size_t nano_v1_pressure_relief(nano_zone_t *nz, size_t goal);

#endif /* MALLET_NANO_V1_H */
