/*
 * nano_v2.c — libmalloc's second nano allocator (nanov2), on Linux.
 *
 * Memory is a zone window of 512 MiB regions, each 8 arenas of 64 MiB,
 * each 4096 blocks of 16 KiB (nano_layout.h). Every block holds slots of
 * one size class; the class of a block follows from its index alone
 * (a fixed table of 64-block units), so free() needs no header. Logical
 * block indices are XORed with a per-zone 12-bit ASLR cookie to give the
 * physical block; logical block 0 of each arena is its metadata block:
 * 4096 32-bit words, one per block, indexed by a rotation of the physical
 * index so that neighbouring blocks' words sit on different cache lines.
 *
 *   block word:  | in_use:1 | gen_count:10 | free_count:10 | next_slot:11 |
 *
 * next_slot is a 1-based free-list head or a state (BUMP, FULL, GUARD,
 * CAN_MADVISE, MADVISING, MADVISED; 0 = never used). Each free slot holds
 * a guard word (slot address ^ cookie) and the next value. All updates of
 * a block are one CAS of its word; gen_count makes a popped-and-pushed-back
 * head differ from the one read (ABA).
 *
 * Allocation: each (class, CPU) pair has a current block; the fast path is
 * a CAS on that block's word with no lock. When it is full the slow path
 * takes the (class, CPU) lock and scans the arena for another block by the
 * MallocNanoScanPolicy grades, then further arenas, then gives up: the
 * class is "delegated" to the helper until frees make room again.
 * Reading a slot's next value before the CAS may read memory that another
 * thread just allocated; that is harmless because the CAS then fails, and
 * safe because blocks are never unmapped while the zone lives.
 *
 * Not in libmalloc: while the process has one thread (glibc's
 * __libc_single_threaded), the fast paths of malloc and free write the
 * block word they have just read with a plain store instead of the CAS
 * (wupdate); see nano_solo() in nano_internal.h for why that is safe and
 * the zone option that turns it off. The slow path, block claims and
 * releases and the madvise states keep the CAS: they are rare.
 *
 * nano_v2.h holds the block word and the state; nano_v2_walk.c the
 * introspection (check, statistics, enumerate, print).
 */
#include <errno.h>
#include <string.h>

#include "libmalloc/nano/nano_v2.h"

/* Size-class ranges in 64-block units (libmalloc's default table). */
static const uint8_t class_units[NANO_CLASSES] = {2, 10, 11, 10, 5, 3, 3, 4, 3, 2, 2, 2, 2, 2, 1, 2};

/* ---- arenas ------------------------------------------------------------------- */

/* Makes the next arena of the window usable. Guard edges (MallocGuardEdges)
 * turn its first and last non-metadata blocks read-only, so a linear
 * overflow out of the arena faults. */
static bool add_arena(nano_zone_t *nz, v2_state_t *st, unsigned seen)
{
    bool ok = true;
    mallet_lock(&st->arena_lock);
    unsigned n = __atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE);
    if (n != seen) {
        /* someone else added one meanwhile */
    } else if (n >= st->narenas_max || (nz->cfg.single_arena && n >= 1)) {
        ok = false;
    } else {
        uintptr_t a = arena_addr(nz, n);
        if (mallet_os_protect((void *)a, NANOV2_ARENA_SIZE, MALLET_PROT_RW) != 0) {
            ok = false;
        } else {
            mallet_os_name_mapping((void *)a, NANOV2_ARENA_SIZE, "mallet nano arena");
            if (nz->cfg.guard_edges) {
                unsigned edges[2] = {1, NANOV2_BLOCKS_PER_ARENA - 1};
                for (int i = 0; i < 2; i++) {
                    uintptr_t b = block_addr(st, a, edges[i]);
                    __atomic_store_n(meta_of(st, b), w_make(S_GUARD, 0, 0, 0), __ATOMIC_RELAXED);
                    mallet_os_protect((void *)b, NANOV2_BLOCK_SIZE, MALLET_PROT_READ);
                }
            }
            __atomic_store_n(&st->narenas, n + 1, __ATOMIC_RELEASE);
        }
    }
    mallet_unlock(&st->arena_lock);
    return ok;
}

/* ---- madvise ------------------------------------------------------------------ */

/* CAN_MADVISE -> MADVISING -> MADVISED. The middle state keeps the slow
 * path from claiming a block whose pages are being dropped. Returns the
 * bytes given back.
 *
 * `how`: libmalloc madvises with MADV_FREE_REUSABLE (mvm_madvise_free), a
 * lazy release: the pages stay mapped and a block reused soon costs no
 * page faults. Linux's counterpart is MADV_FREE (MALLET_DECOMMIT_LAZY), used
 * for the "immediate" policy on free, where a churning program empties and
 * refills the same blocks. pressure_relief() asks for memory back now and
 * wants RSS to show it, so it decommits eagerly (MADV_DONTNEED); Linux
 * keeps MADV_FREE pages in RSS until memory is short, where macOS takes
 * REUSABLE pages out of the footprint at once. */
__attribute__((noinline)) static size_t madvise_block(nano_zone_t *nz, v2_state_t *st, uintptr_t blk, int how)
{
    uint32_t *m = meta_of(st, blk);
    size_t done = 0;
    mallet_lock(&st->madvise_lock);
    uint32_t w = wload(m);
    if (W_NEXT(w) == S_CAN_MADVISE && !W_INUSE(w) &&
        wcas(m, &w, w_make(S_MADVISING, 0, W_GEN(w) + 1, 0))) {
        int rc = mallet_os_decommit((void *)blk, NANOV2_BLOCK_SIZE, how);
        if (rc != 0)
            NANO_REPORT(nz, MALLET_ERR_INTERNAL, false, (void *)blk,
                        "Failed to madvise block at blockp: %p, error: %d", (void *)blk, rc);
        else
            done = NANOV2_BLOCK_SIZE;
        w = wload(m);
        if (W_NEXT(w) != S_MADVISING || !wcas(m, &w, w_make(S_MADVISED, 0, W_GEN(w) + 1, 0)))
            NANO_REPORT(nz, MALLET_ERR_METADATA_CORRUPTION, true, (void *)blk,
                        "Failed when changing state from MADVISING to MADVISED, block_metap = %p, "
                        "blockp = %p",
                        (void *)m, (void *)blk);
    }
    mallet_unlock(&st->madvise_lock);
    return done;
}

/* ---- allocation -------------------------------------------------------------- */

/* One allocation from block `blk` (class cls) that this CPU owns (in_use).
 * NULL with *status FALLTHROUGH if the block cannot serve (full, or taken
 * away), ABANDONED after a corruption report. Inlined: it is the whole
 * fast path of malloc. solo: nano_solo(). */
static inline __attribute__((always_inline)) void *alloc_in_block(nano_zone_t *nz, v2_state_t *st, unsigned cls,
                                                                 uintptr_t blk, bool zero, bool solo, int *status)
{
    uint32_t *m = meta_of(st, blk);
    size_t size = nano_class_bytes(cls);
    unsigned slots = st->slots[cls];
    uint32_t w = wload(m);
    for (;;) {
        uint32_t next = W_NEXT(w), fc = W_FREE(w), nnext, slot;
        uint64_t guard = 0;
        bool popped = false;
        if (!W_INUSE(w) || next == S_FULL || next == S_NULL || next == S_GUARD || next >= S_MADVISING) {
            *status = NANO_FALLTHROUGH;
            return NULL;
        }
        if (next == S_BUMP || next == S_CAN_MADVISE) {
            if (fc + 1 > slots)
                goto damaged_word;
            slot = slots - fc - 1; /* fresh slots ascend */
            nnext = fc == 0 ? S_FULL : S_BUMP;
        } else {
            if (next > slots)
                goto damaged_word;
            slot = next - 1;
            uintptr_t p = blk + slot * size;
            guard = nano_load_speculative((void *)p);
            uint64_t stored = nano_load_speculative((void *)(p + 8));
            popped = true;
            if (fc == 0) {
                nnext = S_FULL;
            } else if ((stored >= 1 && stored <= slots) || stored == S_BUMP) {
                nnext = (uint32_t)stored;
            } else {
                /* A damaged next value. Only believe it if the word did not
                 * move meanwhile (else another thread reused the slot). */
                if (wload(m) != w) {
                    w = wload(m);
                    continue;
                }
                NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)p,
                            "Heap corruption detected, free list is damaged at %p\n"
                            "*** Incorrect guard value: %llu",
                            (void *)p, (unsigned long long)guard);
                *status = NANO_ABANDONED;
                return NULL;
            }
        }
        uint32_t nw = w_make(nnext, fc ? fc - 1 : 0, W_GEN(w) + 1, 1);
        if (!wupdate(m, &w, nw, solo))
            continue;
        uintptr_t p = blk + slot * size;
        if (popped && guard != ((uint64_t)p ^ nz->cookie)) {
            NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)p,
                        "Heap corruption detected, free list is damaged at %p\n"
                        "*** Incorrect guard value: %llu",
                        (void *)p, (unsigned long long)guard);
            *status = NANO_ABANDONED;
            return NULL;
        }
        if (zero) {
            memset((void *)p, 0, size);
        } else {
            nano_store((void *)p, 0);
            nano_store((void *)(p + 8), 0);
        }
        *status = NANO_OK;
        return (void *)p;
    }
damaged_word:
    NANO_REPORT(nz, MALLET_ERR_METADATA_CORRUPTION, true, (void *)blk,
                "Heap corruption detected, free list is damaged at %p\n*** Incorrect guard value: %llu",
                (void *)blk, (unsigned long long)w);
    *status = NANO_ABANDONED;
    return NULL;
}

/* Drops this CPU's claim on a block. An empty block becomes CAN_MADVISE
 * (and is madvised now under the "immediate" policy). */
static void release_block(nano_zone_t *nz, v2_state_t *st, unsigned cls, uintptr_t blk)
{
    uint32_t *m = meta_of(st, blk);
    uint32_t w = wload(m), nw;
    do {
        if (W_NEXT(w) == S_BUMP && W_FREE(w) + 1 == st->slots[cls])
            nw = w_make(S_CAN_MADVISE, W_FREE(w), W_GEN(w) + 1, 0);
        else
            nw = w_make(W_NEXT(w), W_FREE(w), W_GEN(w) + 1, 0);
    } while (!wcas(m, &w, nw));
    if (W_NEXT(nw) == S_CAN_MADVISE && !st->madvise_deferred)
        madvise_block(nz, st, blk, MALLET_DECOMMIT_LAZY);
}

/* Claims `blk` for a CPU: resets an empty block to BUMP. */
static bool claim_block(v2_state_t *st, unsigned cls, uintptr_t blk, uint32_t w)
{
    uint32_t *m = meta_of(st, blk);
    uint32_t next = W_NEXT(w), nw;
    if (W_INUSE(w) || next == S_FULL || next == S_MADVISING || next == S_GUARD)
        return false;
    if (next == S_NULL || next == S_CAN_MADVISE || next == S_MADVISED)
        nw = w_make(S_BUMP, st->slots[cls] - 1, 0, 1);
    else
        nw = w | (1u << 31);
    nw = (nw & ~(0x3FFu << 21)) | (((W_GEN(w) + 1) & 0x3FFu) << 21);
    return wcas(m, &w, nw);
}

/* Grades of the slow-path scan, best first. */
enum { G_NONE, G_MADVISABLE, G_FREE, G_FALLBACK_LOW, G_FALLBACK_HIGH, G_IN_RANGE };

static unsigned grade(v2_state_t *st, unsigned cls, uint32_t w)
{
    uint32_t next = W_NEXT(w);
    if (W_INUSE(w) || next == S_FULL || next == S_MADVISING || next == S_GUARD)
        return G_NONE;
    if (next == S_NULL || next == S_MADVISED)
        return G_FREE;
    if (next == S_CAN_MADVISE)
        return G_MADVISABLE;
    if (st->firstfit)
        return G_IN_RANGE;
    /* libmalloc calls this "percent used"; it is the share of free slots. */
    unsigned pct = 100 * (W_FREE(w) + 1) / st->slots[cls];
    if (pct >= st->scan_min && pct <= st->scan_max)
        return G_IN_RANGE;
    return pct > st->scan_max ? G_FALLBACK_HIGH : G_FALLBACK_LOW;
}

/* Finds and claims a block of class cls in one arena, starting the
 * circular scan at logical block `start`. 0 if none. */
static uintptr_t scan_arena(v2_state_t *st, unsigned cls, uintptr_t arena, unsigned start)
{
    unsigned first = st->first_block[cls], last = st->last_block[cls];
    unsigned span = last - first + 1;
    for (int attempt = 0; attempt < 4; attempt++) {
        uintptr_t best = 0;
        unsigned best_grade = G_NONE, after = 0;
        uint32_t best_w = 0;
        for (unsigned k = 0; k < span; k++) {
            unsigned l = start >= first + k ? start - k : start + span - k; /* backwards, wrapping */
            uintptr_t b = block_addr(st, arena, l);
            uint32_t w = wload(meta_of(st, b));
            unsigned g = grade(st, cls, w);
            if (g > best_grade) {
                best = b, best_grade = g, best_w = w;
                if (g == G_IN_RANGE)
                    break;
            }
            if (best_grade != G_NONE && ++after > st->scan_lim)
                break;
        }
        if (best == 0)
            return 0;
        if (claim_block(st, cls, best, best_w))
            return best;
    }
    return 0;
}

__attribute__((noinline)) static void *slow_alloc(nano_zone_t *nz, v2_state_t *st, unsigned cls, unsigned idx, bool zero, int *status)
{
    if (__atomic_load_n(&st->delegate, __ATOMIC_RELAXED) & (1u << cls)) {
        *status = NANO_FALLTHROUGH;
        return NULL;
    }
    mallet_lock(&st->locks[cls][idx]);
    uintptr_t old = __atomic_load_n(&st->current[cls][idx], __ATOMIC_ACQUIRE);
    void *p = NULL;
    if (old) { /* another thread of this CPU may have moved on already */
        p = alloc_in_block(nz, st, cls, old, zero, false, status);
        if (p || *status == NANO_ABANDONED)
            goto out;
    }
    for (;;) {
        unsigned n = __atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE);
        uintptr_t nb = 0;
        unsigned home = old ? (unsigned)((nanov2_arena_base(old) - nz->base) / NANOV2_ARENA_SIZE) : 0;
        if (home < n)
            nb = scan_arena(st, cls, arena_addr(nz, home), old ? logical_of(st, old) : st->first_block[cls]);
        for (unsigned a = 0; a < n && !nb; a++)
            if (a != home)
                nb = scan_arena(st, cls, arena_addr(nz, a), st->first_block[cls]);
        if (!nb) {
            if (!add_arena(nz, st, n))
                break;
            continue;
        }
        p = alloc_in_block(nz, st, cls, nb, zero, false, status);
        __atomic_store_n(&st->current[cls][idx], nb, __ATOMIC_RELEASE);
        if (old)
            release_block(nz, st, cls, old);
        old = nb;
        if (p || *status == NANO_ABANDONED)
            goto out;
    }
    /* Out of blocks: the class goes to the helper until frees make room. */
    __atomic_fetch_or(&st->delegate, 1u << cls, __ATOMIC_RELAXED);
    *status = NANO_FALLTHROUGH;
out:
    mallet_unlock(&st->locks[cls][idx]);
    return p;
}

/* Inlined into the zone's malloc entry point, once per value of solo
 * (nano_solo()); v2_malloc, the out-of-line copy that nano_ops_t points
 * at, serves calloc, memalign and realloc. */
static inline __attribute__((always_inline)) void *v2_malloc_with(nano_zone_t *nz, size_t n, bool zero, bool solo,
                                                                 int *status)
{
    v2_state_t *st = ST(nz);
    unsigned cls = nano_size_class(n);
    unsigned idx = mallet_os_current_cpu_inline();
    if (idx >= st->n_idx) /* a divide only when CPUs outnumber indices */
        idx %= st->n_idx;
    uintptr_t blk = __atomic_load_n(&st->current[cls][idx], __ATOMIC_ACQUIRE);
    if (blk) { /* fast path: no lock */
        void *p = alloc_in_block(nz, st, cls, blk, zero, solo, status);
        if (p || *status == NANO_ABANDONED)
            return p;
    }
    return slow_alloc(nz, st, cls, idx, zero, status);
}

static void *v2_malloc(nano_zone_t *nz, size_t n, bool zero, int *status)
{
    return v2_malloc_with(nz, n, zero, nano_solo(nz), status);
}

/* ---- free, size ------------------------------------------------------------------ */

/* Vets p as a live nano block: inside an arena, not a metadata block, an
 * active block, on a slot boundary, guard not showing "free". Fills the
 * class, the block and its word. Inlined into free, its one hot caller. */
static inline __attribute__((always_inline)) bool vet_live(nano_zone_t *nz, v2_state_t *st, uintptr_t p,
                                                         unsigned *cls_out, uintptr_t *blk_out, unsigned *slot_out,
                                                         uint32_t *word_out)
{
    if (p & (NANO_QUANTUM - 1))
        return false;
    if (p - nz->base >= (uintptr_t)__atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE) * NANOV2_ARENA_SIZE)
        return false;
    unsigned logical = logical_of(st, p);
    if (logical == 0)
        return false;
    unsigned cls = class_of_logical(st, logical);
    uintptr_t blk = nanov2_block_base(p);
    size_t size = nano_class_bytes(cls);
    unsigned off = nanov2_offset_in_block(p), slot = nano_slot_index(off, cls);
    if (slot * size != off || slot >= st->slots[cls])
        return false;
    uint32_t w = wload(meta_of(st, blk));
    uint32_t next = W_NEXT(w);
    if (next == S_NULL || next == S_GUARD || next == S_CAN_MADVISE || next == S_MADVISING ||
        next == S_MADVISED)
        return false;
    if (w_nfree(w) >= st->slots[cls]) /* wholly free */
        return false;
#ifndef MALLET_SEEDED_BUG_NANO_DF /* seeded bug: a free slot's guard word is not looked at */
    if (nano_load((void *)p) == (p ^ nz->cookie))
        return false;
#endif
    *cls_out = cls, *blk_out = blk, *slot_out = slot, *word_out = w;
    return true;
}

static size_t v2_size(nano_zone_t *nz, const void *ptr)
{
    unsigned cls, slot;
    uintptr_t blk;
    uint32_t w;
    if (!vet_live(nz, ST(nz), (uintptr_t)ptr, &cls, &blk, &slot, &w))
        return 0;
    return nano_class_bytes(cls);
}

static inline __attribute__((always_inline)) int v2_free_with(nano_zone_t *nz, void *ptr, size_t declared, bool solo)
{
    v2_state_t *st = ST(nz);
    uintptr_t p = (uintptr_t)ptr, blk;
    unsigned cls, slot;
    uint32_t w, nw; /* the word as vetted: the CAS below checks it is still current */
    if (!vet_live(nz, st, p, &cls, &blk, &slot, &w))
        return NANO_FALLTHROUGH; /* the helper reports it (libmalloc does the same) */
    if (declared && !nano_size_fits_class(declared, cls)) {
        NANO_REPORT(nz, MALLET_ERR_SIZE_MISMATCH, false, ptr, "Freeing pointer %p whose size was misdeclared",
                    ptr);
        return NANO_ABANDONED;
    }
    unsigned slots = st->slots[cls];
    uint32_t *m = meta_of(st, blk);
    nano_store(ptr, p ^ nz->cookie);
    for (;;) {
        uint32_t next = W_NEXT(w);
        if (next == S_NULL || next == S_GUARD || next >= S_CAN_MADVISE || next == 0) {
            nano_store(ptr, 0); /* raced with a concurrent misuse; do not touch the block */
            return NANO_FALLTHROUGH;
        }
        unsigned nfree = w_nfree(w) + 1;
        if (nfree >= slots) {
            /* Last live slot: the block starts over from slot 0. */
            nw = w_make(W_INUSE(w) ? S_BUMP : S_CAN_MADVISE, slots - 1, W_GEN(w) + 1, W_INUSE(w));
        } else {
            nano_store((void *)(p + 8), next == S_FULL ? S_BUMP : next);
            nw = w_make(slot + 1, nfree - 1, W_GEN(w) + 1, W_INUSE(w));
        }
        if (wupdate(m, &w, nw, solo))
            break;
    }
    if (W_NEXT(nw) == S_CAN_MADVISE && !st->madvise_deferred)
        madvise_block(nz, st, blk, MALLET_DECOMMIT_LAZY);
    uint32_t bit = 1u << cls;
    if ((__atomic_load_n(&st->delegate, __ATOMIC_RELAXED) & bit) && !W_INUSE(nw) &&
        w_nfree(nw) * 4 >= slots * 3)
        __atomic_fetch_and(&st->delegate, ~bit, __ATOMIC_RELAXED);
    return NANO_OK;
}

static int v2_free(nano_zone_t *nz, void *ptr, size_t declared)
{
    return v2_free_with(nz, ptr, declared, nano_solo(nz));
}

NANO_ZONE_ENTRY_POINTS(v2_zone_malloc, v2_zone_free, v2_malloc_with, v2_free_with)

static bool v2_claimed(nano_zone_t *nz, const void *p)
{
    return (uintptr_t)p - nz->base <
           (uintptr_t)__atomic_load_n(&ST(nz)->narenas, __ATOMIC_ACQUIRE) * NANOV2_ARENA_SIZE;
}

/* ---- pressure relief ----------------------------------------------------------- */

/* Deferred madvise policies leave empty blocks CAN_MADVISE; this is where
 * they are given back. Under "immediate" only stragglers remain. */
static size_t v2_pressure_relief(nano_zone_t *nz, size_t goal)
{
    v2_state_t *st = ST(nz);
    size_t total = 0;
    unsigned n = __atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE);
    for (unsigned a = 0; a < n; a++)
        for (unsigned l = 1; l < NANOV2_BLOCKS_PER_ARENA; l++) {
            uintptr_t b = block_addr(st, arena_addr(nz, a), l);
            if (W_NEXT(wload(meta_of(st, b))) == S_CAN_MADVISE)
                total += madvise_block(nz, st, b, MALLET_DECOMMIT_EAGER);
            if (goal && total >= goal)
                return total;
        }
    return total;
}


/* ---- locks, life cycle ---------------------------------------------------------- */

static void v2_force_lock(nano_zone_t *nz)
{
    v2_state_t *st = ST(nz);
    for (unsigned c = 0; c < NANO_CLASSES; c++)
        for (unsigned i = 0; i < st->n_idx; i++)
            mallet_lock(&st->locks[c][i]);
    mallet_lock(&st->arena_lock);
    mallet_lock(&st->madvise_lock);
}

static void v2_force_unlock(nano_zone_t *nz)
{
    v2_state_t *st = ST(nz);
    mallet_unlock(&st->madvise_lock);
    mallet_unlock(&st->arena_lock);
    for (unsigned c = 0; c < NANO_CLASSES; c++)
        for (unsigned i = 0; i < st->n_idx; i++)
            mallet_unlock(&st->locks[c][i]);
}

static void v2_reinit_lock(nano_zone_t *nz)
{
    v2_state_t *st = ST(nz);
    for (unsigned c = 0; c < NANO_CLASSES; c++)
        for (unsigned i = 0; i < st->n_idx; i++)
            mallet_lock_reinit(&st->locks[c][i]);
    mallet_lock_reinit(&st->arena_lock);
    mallet_lock_reinit(&st->madvise_lock);
}

/* "firstfit" or "minXX:maxYY:limZZ" (any separator, since ':' also splits
 * option strings). */
static int parse_scan_policy(v2_state_t *st, const char *s, char *err, size_t errlen)
{
    st->scan_min = 20, st->scan_max = 80, st->scan_lim = 10, st->firstfit = false;
    if (!*s)
        return 0;
    if (strcmp(s, "firstfit") == 0) {
        st->firstfit = true;
        return 0;
    }
    static const char *const keys[3] = {"min", "max", "lim"};
    unsigned *dst[3] = {&st->scan_min, &st->scan_max, &st->scan_lim};
    for (const char *c = s; *c;) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strncmp(c, keys[i], 3) == 0)
                k = i;
        if (k < 0 || c[3] < '0' || c[3] > '9')
            goto bad;
        unsigned v = 0;
        for (c += 3; *c >= '0' && *c <= '9'; c++)
            v = v * 10 + (unsigned)(*c - '0');
        *dst[k] = v;
        if (*c)
            c++;
    }
    if (st->scan_min <= st->scan_max && st->scan_max <= 100)
        return 0;
bad:
    snprintf(err, errlen, "MallocNanoScanPolicy: invalid value '%s' (firstfit or minXX:maxYY:limZZ)", s);
    return EINVAL;
}

static int v2_init(nano_zone_t *nz, char *err, size_t errlen)
{
    size_t ssize = (sizeof(v2_state_t) + mallet_os_page_size() - 1) & ~(mallet_os_page_size() - 1);
    v2_state_t *st = mallet_os_map(NULL, ssize, MALLET_PROT_RW);
    if (st == NULL) {
        snprintf(err, errlen, "nano: cannot map the v2 state");
        return ENOMEM;
    }
    nz->state = st, nz->state_size = ssize;
    int rc = parse_scan_policy(st, nz->cfg.scan_policy, err, errlen);
    if (rc)
        return rc;
    const char *mp = nz->cfg.madvise_policy;
    if (strcmp(mp, "warning") == 0 || strcmp(mp, "critical") == 0) {
        st->madvise_deferred = true;
    } else if (*mp && strcmp(mp, "immediate") != 0) {
        snprintf(err, errlen, "MallocNanoMadvisePolicy: invalid value '%s' (immediate, warning, critical)", mp);
        return EINVAL;
    }
    unsigned ncpu = mallet_os_cpu_count();
    st->n_idx = ncpu == 0 ? 1 : ncpu > MAX_IDX ? MAX_IDX : ncpu;
    st->aslr = (unsigned)(mallet_os_random64() >> 52) & NANOV2_BLOCK_MASK;
    unsigned unit = 0;
    for (unsigned c = 0; c < NANO_CLASSES; c++) {
        st->first_block[c] = unit << NANOV2_CLASS_UNIT_SHIFT;
        for (unsigned k = 0; k < class_units[c]; k++)
            st->class_of_unit[unit++] = (uint8_t)c;
        st->last_block[c] = (unit << NANOV2_CLASS_UNIT_SHIFT) - 1;
        st->slots[c] = (unsigned)(NANOV2_BLOCK_SIZE / nano_class_bytes(c));
    }
    st->first_block[0] = 1; /* logical block 0 is the metadata block */
    for (unsigned c = 0; c < NANO_CLASSES; c++)
        for (unsigned i = 0; i < MAX_IDX; i++)
            mallet_lock_init(&st->locks[c][i]);
    mallet_lock_init(&st->arena_lock);
    mallet_lock_init(&st->madvise_lock);
    st->narenas_max = (unsigned)nz->cfg.max_regions * NANOV2_ARENAS_PER_REGION;
    size_t window = (size_t)nz->cfg.max_regions * NANOV2_REGION_SIZE;
    size_t pow2 = NANOV2_REGION_SIZE;
    while (pow2 < window)
        pow2 <<= 1;
    if ((rc = nano_reserve_window(nz, pow2)) != 0) {
        snprintf(err, errlen, "no free %zu MiB range at %#llx..%#llx: %s", pow2 >> 20,
                 (unsigned long long)NANO_RANGE_BASE, (unsigned long long)(NANO_RANGE_BASE + NANO_RANGE_SIZE),
                 strerror(rc));
        return rc;
    }
    if (!add_arena(nz, st, 0)) {
        snprintf(err, errlen, "nano: cannot make the first arena usable");
        return ENOMEM;
    }
    return 0;
}

static void v2_fini(nano_zone_t *nz)
{
    if (nz->window)
        mallet_os_unmap((void *)nz->base, nz->window);
    if (nz->state)
        mallet_os_unmap(nz->state, nz->state_size);
    nz->window = 0, nz->state = NULL;
}

const nano_ops_t nano_v2_ops = {
    .name = "v2",
    .init = v2_init,
    .fini = v2_fini,
    .malloc = v2_malloc,
    .zone_malloc = v2_zone_malloc,
    .zone_free = v2_zone_free,
    .size = v2_size,
    .free = v2_free,
    .claimed = v2_claimed,
    .pressure_relief = v2_pressure_relief,
    .check = nano_v2_check,
    .enumerate = nano_v2_enumerate,
    .statistics = nano_v2_statistics,
    .print = nano_v2_print,
    .force_lock = v2_force_lock,
    .force_unlock = v2_force_unlock,
    .reinit_lock = v2_reinit_lock,
};
