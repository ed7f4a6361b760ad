/*
 * nano_v2_walk.c — nano v2's introspection: check(), statistics(),
 * enumerate() and print(). They walk every block word of every usable
 * arena; an active block's free slots are found by following its free list
 * (guard words vetted) and adding the untouched bump tail, so everything
 * else in the block is live. The walk takes no locks, as in libmalloc, and
 * may run while other threads allocate: a block's list is judged only from
 * a walk during which its block word held still (block_free_slots_stable),
 * so check() never reports a list another thread was changing; statistics
 * and enumerate are then a snapshot, exact only when the zone is quiet.
 */
#include <string.h>

#include "libmalloc/nano/nano_v2.h"


static bool is_active(uint32_t w)
{
    uint32_t next = W_NEXT(w);
    return !(next == S_NULL || next == S_GUARD || next >= S_CAN_MADVISE);
}

/* What a free-list walk found wrong (kind 0 = nothing). */
typedef struct walk_fault {
    int kind; /* 0, or 1 = bad guard / loop / too many, 2 = list does not end in BUMP */
    uintptr_t at;
    uint64_t value;
} walk_fault_t;

/* Marks the free slots of an active block in `freemap` (1024 bits) by
 * walking its free list and bump tail. Returns false with `fault` filled
 * (nothing reported) if the list, as read, is damaged. */
static bool block_free_slots(nano_zone_t *nz, v2_state_t *st, unsigned cls, uintptr_t blk, uint32_t w,
                             uint64_t *freemap, walk_fault_t *fault)
{
    unsigned slots = st->slots[cls], listed = 0;
    size_t size = nano_class_bytes(cls);
    memset(freemap, 0, 1024 / 8);
    *fault = (walk_fault_t){0, 0, 0};
    uint32_t next = W_NEXT(w);
    if (next == S_FULL)
        return true;
    unsigned nfree = W_FREE(w) + 1;
    while (next >= 1 && next <= slots) {
        uintptr_t p = blk + (uintptr_t)(next - 1) * size;
        uint64_t guard = nano_load((void *)p);
        if (guard != (p ^ nz->cookie) || ++listed > nfree || (freemap[(next - 1) / 64] >> ((next - 1) % 64)) & 1) {
            *fault = (walk_fault_t){1, p, guard};
            return false;
        }
        freemap[(next - 1) / 64] |= 1ull << ((next - 1) % 64);
        uint64_t stored = nano_load((void *)(p + 8));
        next = stored <= 0x7FF ? (uint32_t)stored : 0;
    }
    if (next != S_BUMP) {
        *fault = (walk_fault_t){2, blk, next};
        return false;
    }
    for (unsigned s = slots - (nfree - listed); s < slots; s++)
        freemap[s / 64] |= 1ull << (s % 64);
    return true;
}

/* Other threads pop and push slots while a walk runs (check() is called
 * from the stress harness and MallocCheckHeap-style callers with the zone
 * live). A walk that read a slot being handed out sees user bytes instead
 * of a guard. Every pop and push moves the block word (its generation
 * counts each change), so a fault only counts when the word did not move
 * during the walk; otherwise walk again from the new word. Returns true if
 * the list is sound or never held still (busy: not judged), false with
 * `fault` for damage seen on an unchanged word. */
static bool block_free_slots_stable(nano_zone_t *nz, v2_state_t *st, unsigned cls, uintptr_t blk,
                                    uint32_t *w, uint64_t *freemap, walk_fault_t *fault, bool *judged)
{
    *judged = false;
    for (int attempt = 0; attempt < 64; attempt++) {
        bool ok = block_free_slots(nz, st, cls, blk, *w, freemap, fault);
        uint32_t now = wload(meta_of(st, blk));
        if (now == *w) {
            *judged = true;
            return ok;
        }
        *w = now;
        if (!is_active(now))
            return true;
    }
    return true;
}

typedef void (*block_visitor_t)(nano_zone_t *nz, unsigned cls, uintptr_t blk, uint32_t w, void *ctx);

static void for_each_block(nano_zone_t *nz, block_visitor_t fn, void *ctx)
{
    v2_state_t *st = ST(nz);
    unsigned n = __atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE);
    for (unsigned a = 0; a < n; a++)
        for (unsigned l = 1; l < NANOV2_BLOCKS_PER_ARENA; l++) {
            uintptr_t b = block_addr(st, arena_addr(nz, a), l);
            fn(nz, class_of_logical(st, l), b, wload(meta_of(st, b)), ctx);
        }
}


typedef struct walk_ctx {
    bool ok;
    size_t live, live_bytes, touched;
    unsigned mask;
    void *rctx;
    mallet_range_recorder_t rec;
    mallet_range_t buf[256];
    unsigned nbuf;
    uint64_t freemap[16];
} walk_ctx_t;

static void emit(walk_ctx_t *c, unsigned type, uintptr_t a, size_t n)
{
    c->buf[c->nbuf++] = (mallet_range_t){a, n};
    if (c->nbuf == 256) {
        c->rec(c->rctx, type, c->buf, c->nbuf);
        c->nbuf = 0;
    }
}

static void check_visit(nano_zone_t *nz, unsigned cls, uintptr_t blk, uint32_t w, void *vctx)
{
    walk_ctx_t *c = vctx;
    v2_state_t *st = ST(nz);
    if (!c->ok)
        return;
    uint32_t next = W_NEXT(w);
    if (next == S_CAN_MADVISE && W_FREE(w) + 1 != st->slots[cls]) {
        NANO_REPORT(nz, MALLET_ERR_CHECK_FAILED, true, (void *)blk,
                    "nanov2 check: empty block %p counts %u free slots of %u", (void *)blk, W_FREE(w) + 1,
                    st->slots[cls]);
        c->ok = false;
    } else if (next > st->slots[cls] && next < S_GUARD) {
        NANO_REPORT(nz, MALLET_ERR_CHECK_FAILED, true, (void *)blk,
                    "nanov2 check: block %p has free-list head %u beyond its %u slots", (void *)blk, next,
                    st->slots[cls]);
        c->ok = false;
    } else if (is_active(w)) {
        walk_fault_t f;
        bool judged;
        if (!block_free_slots_stable(nz, st, cls, blk, &w, c->freemap, &f, &judged) && judged) {
            if (f.kind == 1)
                NANO_REPORT(nz, MALLET_ERR_FREELIST_CORRUPTION, true, (void *)f.at,
                            "Heap corruption detected, free list is damaged at %p\n"
                            "*** Incorrect guard value: %llu",
                            (void *)f.at, (unsigned long long)f.value);
            else
                NANO_REPORT(nz, MALLET_ERR_CHECK_FAILED, true, (void *)blk,
                            "nanov2 check: free list of block %p ends in 0x%x, not BUMP", (void *)blk,
                            (unsigned)f.value);
            c->ok = false;
        }
    }
}

int nano_v2_check(nano_zone_t *nz)
{
    v2_state_t *st = ST(nz);
    walk_ctx_t c = {.ok = true};
    for_each_block(nz, check_visit, &c);
    for (unsigned cls = 0; cls < NANO_CLASSES && c.ok; cls++)
        for (unsigned i = 0; i < st->n_idx && c.ok; i++) {
            /* The CPU's lock orders this against slow_alloc moving on to a
             * new block (it publishes the new one, then releases the old). */
            mallet_lock(&st->locks[cls][i]);
            uintptr_t b = __atomic_load_n(&st->current[cls][i], __ATOMIC_ACQUIRE);
            bool bad = b && (class_of_logical(st, logical_of(st, b)) != cls || !W_INUSE(wload(meta_of(st, b))));
            mallet_unlock(&st->locks[cls][i]);
            if (bad) {
                NANO_REPORT(nz, MALLET_ERR_CHECK_FAILED, true, (void *)b,
                            "nanov2 check: current block %p of class %u is not marked in use", (void *)b,
                            cls);
                c.ok = false;
            }
        }
    return c.ok;
}

static void count_visit(nano_zone_t *nz, unsigned cls, uintptr_t blk, uint32_t w, void *vctx)
{
    walk_ctx_t *c = vctx;
    v2_state_t *st = ST(nz);
    uint32_t next = W_NEXT(w);
    if (next != S_NULL && next != S_MADVISED && next != S_GUARD)
        c->touched++;
    walk_fault_t f;
    bool judged;
    if (!is_active(w))
        return;
    bool sound = block_free_slots_stable(nz, st, cls, blk, &w, c->freemap, &f, &judged);
    if ((!sound && judged) || !is_active(w)) /* damaged, or emptied while we looked */
        return;
    size_t size = nano_class_bytes(cls);
    for (unsigned s = 0; s < st->slots[cls]; s++) {
        if ((c->freemap[s / 64] >> (s % 64)) & 1)
            continue;
        c->live++;
        c->live_bytes += size;
        if (c->rec && (c->mask & MALLET_ENUM_BLOCKS))
            emit(c, MALLET_ENUM_BLOCKS, blk + s * size, size);
    }
}

void nano_v2_statistics(nano_zone_t *nz, mallet_zone_stats_t *s)
{
    walk_ctx_t c = {.ok = true};
    for_each_block(nz, count_visit, &c);
    unsigned n = __atomic_load_n(&ST(nz)->narenas, __ATOMIC_ACQUIRE);
    s->blocks_in_use += c.live;
    s->size_in_use += c.live_bytes;
    s->size_allocated += (c.touched + n) * NANOV2_BLOCK_SIZE + nz->state_size;
}

void nano_v2_enumerate(nano_zone_t *nz, unsigned mask, void *ctx, mallet_range_recorder_t rec)
{
    v2_state_t *st = ST(nz);
    walk_ctx_t c = {.ok = true, .mask = mask, .rctx = ctx, .rec = rec};
    unsigned n = __atomic_load_n(&st->narenas, __ATOMIC_ACQUIRE);
    if (mask & MALLET_ENUM_BLOCKS) {
        for_each_block(nz, count_visit, &c);
        if (c.nbuf)
            rec(ctx, MALLET_ENUM_BLOCKS, c.buf, c.nbuf);
        c.nbuf = 0;
    }
    if (mask & MALLET_ENUM_REGIONS) {
        for (unsigned a = 0; a < n; a++)
            emit(&c, MALLET_ENUM_REGIONS, arena_addr(nz, a), NANOV2_ARENA_SIZE);
        if (c.nbuf)
            rec(ctx, MALLET_ENUM_REGIONS, c.buf, c.nbuf);
        c.nbuf = 0;
    }
    if (mask & MALLET_ENUM_ADMIN) {
        emit(&c, MALLET_ENUM_ADMIN, (uintptr_t)st, nz->state_size);
        for (unsigned a = 0; a < n; a++)
            emit(&c, MALLET_ENUM_ADMIN, block_addr(st, arena_addr(nz, a), 0), NANOV2_BLOCK_SIZE);
        rec(ctx, MALLET_ENUM_ADMIN, c.buf, c.nbuf);
    }
}

void nano_v2_print(nano_zone_t *nz, int fd, bool verbose)
{
    v2_state_t *st = ST(nz);
    walk_ctx_t c = {.ok = true};
    for_each_block(nz, count_visit, &c);
    mallet_os_printf(fd,
                     "nanov2 zone %s: window %#lx+%#lx, %u arenas, aslr cookie %#x, %zu live blocks "
                     "(%zu bytes), %zu touched 16 KiB blocks, delegated classes %#x\n",
                     nz->name, (unsigned long)nz->base, (unsigned long)nz->window, st->narenas, st->aslr,
                     c.live, c.live_bytes, c.touched, st->delegate);
    if (!verbose)
        return;
    for (unsigned cls = 0; cls < NANO_CLASSES; cls++) {
        mallet_os_printf(fd, "  class %3zu: logical blocks %u..%u, %u slots/block; current:", nano_class_bytes(cls),
                         st->first_block[cls], st->last_block[cls], st->slots[cls]);
        for (unsigned i = 0; i < st->n_idx; i++) {
            uintptr_t b = st->current[cls][i];
            if (b) {
                uint32_t w = wload(meta_of(st, b));
                mallet_os_printf(fd, " [cpu %u %#lx next %#x free %u]", i, (unsigned long)b, W_NEXT(w), w_nfree(w));
            }
        }
        mallet_os_printf(fd, "\n");
    }
}
