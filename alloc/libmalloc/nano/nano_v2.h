/*
 * nano_v2.h — what nano_v2.c (allocation, free, life cycle) shares with
 * nano_v2_walk.c (check, statistics, enumerate, print): the block word,
 * the zone state and the address helpers. See nano_v2.c for the design.
 */
#ifndef MALLET_NANO_V2_H
#define MALLET_NANO_V2_H

#include "libmalloc/nano/nano_internal.h"

/* ---- block words ---------------------------------------------------------- */
#define W_NEXT(w) ((w) & 0x7FFu)
#define W_FREE(w) (((w) >> 11) & 0x3FFu)
#define W_GEN(w) (((w) >> 21) & 0x3FFu)
#define W_INUSE(w) ((w) >> 31)
#define S_NULL 0u
#define S_GUARD 0x7FAu
#define S_BUMP 0x7FBu
#define S_FULL 0x7FCu
#define S_CAN_MADVISE 0x7FDu
#define S_MADVISING 0x7FEu
#define S_MADVISED 0x7FFu

static inline uint32_t w_make(uint32_t next, uint32_t free_count, uint32_t gen, uint32_t in_use)
{
    return (next & 0x7FFu) | ((free_count & 0x3FFu) << 11) | ((gen & 0x3FFu) << 21) | (in_use << 31);
}

/* Free slots a word describes (free_count is "free - 1"; FULL has none). */
static inline unsigned w_nfree(uint32_t w)
{
    return W_NEXT(w) == S_FULL ? 0 : W_FREE(w) + 1;
}

#define MAX_IDX 64

typedef struct v2_state {
    unsigned n_idx;          /* allocation-block indices in use (<= 64) */
    unsigned aslr;           /* 12-bit block cookie */
    unsigned narenas_max;
    unsigned narenas;        /* arenas usable so far (atomic, only grows) */
    uint32_t delegate;       /* class bit: allocations go to the helper */
    bool madvise_deferred;   /* MallocNanoMadvisePolicy warning|critical */
    bool firstfit;
    unsigned scan_min, scan_max, scan_lim;
    mallet_lock_t arena_lock, madvise_lock;
    uint8_t class_of_unit[NANOV2_CLASS_UNITS];
    unsigned first_block[NANO_CLASSES], last_block[NANO_CLASSES]; /* logical */
    unsigned slots[NANO_CLASSES];
    uintptr_t current[NANO_CLASSES][MAX_IDX]; /* current block of (class, cpu) */
    mallet_lock_t locks[NANO_CLASSES][MAX_IDX];
} v2_state_t;

#define ST(nz) ((v2_state_t *)(nz)->state)

static inline uintptr_t arena_addr(nano_zone_t *nz, unsigned a)
{
    return nz->base + (uintptr_t)a * NANOV2_ARENA_SIZE;
}
static inline uintptr_t block_addr(v2_state_t *st, uintptr_t arena, unsigned logical)
{
    return arena + ((uintptr_t)(logical ^ st->aslr) << NANOV2_BLOCK_SHIFT);
}
static inline unsigned logical_of(v2_state_t *st, uintptr_t p)
{
    return nanov2_block_of(p) ^ st->aslr;
}
static inline uint32_t *meta_of(v2_state_t *st, uintptr_t blk)
{
    uintptr_t meta = nanov2_arena_base(blk) + ((uintptr_t)st->aslr << NANOV2_BLOCK_SHIFT);
    return (uint32_t *)meta + nanov2_meta_index(nanov2_block_of(blk));
}
static inline unsigned class_of_logical(v2_state_t *st, unsigned logical)
{
    return st->class_of_unit[logical >> NANOV2_CLASS_UNIT_SHIFT];
}
static inline uint32_t wload(uint32_t *m)
{
    return __atomic_load_n(m, __ATOMIC_ACQUIRE);
}
static inline bool wcas(uint32_t *m, uint32_t *old, uint32_t nw)
{
    return __atomic_compare_exchange_n(m, old, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
/* The hot paths' update of a word they have just read: with solo
 * (nano_solo(): the process has one thread) nothing can have changed it,
 * so it is a plain store. */
static inline bool wupdate(uint32_t *m, uint32_t *old, uint32_t nw, bool solo)
{
    if (solo) {
        __atomic_store_n(m, nw, __ATOMIC_RELAXED);
        return true;
    }
    return wcas(m, old, nw);
}

/* nano_v2_walk.c: the introspection entry points of nano_v2_ops. */
int nano_v2_check(nano_zone_t *nz);
void nano_v2_statistics(nano_zone_t *nz, mallet_zone_stats_t *s);
void nano_v2_enumerate(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec);
void nano_v2_print(nano_zone_t *nz, int fd, bool verbose);

#endif /* MALLET_NANO_V2_H */
