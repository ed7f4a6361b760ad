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
 *
 * Not in libmalloc: while the process has one thread (glibc's
 * __libc_single_threaded), malloc's pop and bump and free's push swap the
 * head with two plain stores instead of the 16-byte CAS, and bump with a
 * load and a store instead of the locked add; the generation still
 * advances. Why that is safe, and the zone option that turns it off, is at
 * nano_solo() in nano_internal.h. The cold paths (double-free walk,
 * pressure relief) keep the atomics.
 *
 * nano_v1.h holds the slot state and the vetting; nano_v1_walk.c the
 * introspection and pressure relief.
 */
#include <errno.h>
#include <string.h>

#include "libmalloc/nano/nano_v1.h"

void nano_v1_report_dequeue(nano_zone_t *nz, int why, uintptr_t p)
{
    static const char *const msg[] = {
        [VET_SIGNATURE] = "Invalid signature for pointer %p dequeued from free list",
        [VET_MAG] = "Mismatched magazine for pointer %p dequeued from free list",
        [VET_SIZE] = "Mismatched size for pointer %p dequeued from free list",
        [VET_POINTER] = "Invalid pointer %p dequeued from free list",
    };
    NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)p, msg[why], (void *)p);
}

void nano_v1_report_canary(nano_zone_t *nz, uintptr_t p, uint64_t guard)
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

/* solo: see nano_solo(); the bump is then a load and a store. */
static void *bump_alloc(nano_zone_t *nz, v1_state_t *st, unsigned mag, unsigned cls, v1_slot_t *s, bool solo)
{
    for (;;) {
        uintptr_t lim = __atomic_load_n(&s->limit, __ATOMIC_ACQUIRE), b;
        if (solo) {
            b = __atomic_load_n(&s->bump, __ATOMIC_RELAXED);
            __atomic_store_n(&s->bump, b + s->slot_bytes, __ATOMIC_RELAXED);
        } else {
            b = __atomic_fetch_add(&s->bump, s->slot_bytes, __ATOMIC_ACQ_REL);
        }
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

/* Inlined into the zone's malloc entry point, once per value of solo
 * (nano_solo()), so neither copy tests it again; v1_malloc, the
 * out-of-line copy that nano_ops_t points at, serves calloc, memalign and
 * realloc. */
static inline __attribute__((always_inline)) void *v1_malloc_with(nano_zone_t *nz, size_t n, bool zero, bool solo,
                                                                 int *status)
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
        int why = vet_addr(nz, s, p, mag, cls);
        if (why != VET_OK) {
            uintptr_t p2;
            uint64_t g2;
            head_load(s, &p2, &g2);
            if (p2 != p || g2 != g)
                continue; /* a stale read, not a damaged list */
            nano_v1_report_dequeue(nz, why, p);
            *status = NANO_ABANDONED;
            return NULL;
        }
        uintptr_t next = nano_load_speculative((void *)(p + 8));
        uint64_t guard = nano_load_speculative((void *)p);
        if (!head_cas(s, solo, p, g, next, g + 1))
            continue;
        if (guard != (p ^ nz->cookie)) {
            nano_v1_report_canary(nz, p, guard);
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
    void *b = bump_alloc(nz, st, mag, cls, s, solo);
    *status = b ? NANO_OK : NANO_FALLTHROUGH; /* fresh memory is zero */
    return b;
}

/* Is p (which looks free) really on its LIFO? Drains the list, looks,
 * and puts the whole chain back in one push. -1 if the list is damaged. */
__attribute__((cold, noinline)) static int on_free_list(nano_zone_t *nz, v1_state_t *st, v1_slot_t *s, unsigned mag, unsigned cls, uintptr_t p)
{
    uintptr_t first = drain(s), q = first, last = 0;
    size_t limit = ((size_t)s->band + 1) * s->objects, n = 0;
    int found = 0;
    while (q) {
        if (vet_addr(nz, s, q, mag, cls) != VET_OK || ++n > limit) {
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
        push_chain(s, false, first, last);
    return found;
}

/* p (inside the window) as a block free() may take: aligned, an existing
 * magazine, handed out, not on a page pressure relief dropped. The caller
 * still looks at the guard word. Inlined into free, its hot caller; p is
 * known to be in the window, so unlike a dequeue the signature and the
 * magazine/class need no second look. */
static inline __attribute__((always_inline)) int v1_vet_live(nano_zone_t *nz, v1_state_t *st, uintptr_t p,
                                                            unsigned *mag, unsigned *cls)
{
    if (p & (NANO_QUANTUM - 1))
        return VET_POINTER;
    uint64_t off = p - nz->base;
    *mag = nanov1_mag_of(off), *cls = nanov1_slot_of(off);
    if (*mag >= st->mags)
        return VET_MAG;
    v1_slot_t *s = slot_of(st, *mag, *cls);
    int why = vet_in_slot(s, p, off, *cls);
    if (why != VET_OK)
        return why;
    if (__builtin_expect(s->advised != NULL, 0)) { /* blocks on advised pages were dropped for good */
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

static void *v1_malloc(nano_zone_t *nz, size_t n, bool zero, int *status)
{
    return v1_malloc_with(nz, n, zero, nano_solo(nz), status);
}

static inline __attribute__((always_inline)) int v1_free_with(nano_zone_t *nz, void *ptr, size_t declared, bool solo)
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
    push_chain(s, solo, p, p); /* onto the owning magazine's list */
    return NANO_OK;
}

static int v1_free(nano_zone_t *nz, void *ptr, size_t declared)
{
    return v1_free_with(nz, ptr, declared, nano_solo(nz));
}

NANO_ZONE_ENTRY_POINTS(v1_zone_malloc, v1_zone_free, v1_malloc_with, v1_free_with)

static bool v1_claimed(nano_zone_t *nz, const void *ptr)
{
    v1_state_t *st = ST(nz);
    uint64_t off = (uintptr_t)ptr - nz->base;
    unsigned mag = nanov1_mag_of(off);
    return mag < st->mags && nanov1_band_of(off) < __atomic_load_n(&st->top_band[mag], __ATOMIC_RELAXED);
}

/* ---- locks, life cycle ------------------------------------------------------------------ */

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
    .zone_malloc = v1_zone_malloc,
    .zone_free = v1_zone_free,
    .size = v1_size,
    .free = v1_free,
    .claimed = v1_claimed,
    .pressure_relief = nano_v1_pressure_relief,
    .check = nano_v1_check,
    .enumerate = nano_v1_enumerate,
    .statistics = nano_v1_statistics,
    .print = nano_v1_print,
    .force_lock = v1_force_lock,
    .force_unlock = v1_force_unlock,
    .reinit_lock = v1_reinit_lock,
};
