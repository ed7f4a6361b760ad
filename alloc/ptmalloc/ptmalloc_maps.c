/*
 * ptmalloc_maps.c — the instance's registries of OS mappings.
 *
 * glibc never needs these: it is the only malloc in its process and lives
 * until exit. A mallet instance must (a) give every byte back on destroy()
 * even when its heap is corrupted, and (b) answer "is this pointer mine?"
 * without trusting a chunk header. So every mapping is recorded here, in
 * memory outside the heap:
 *   - mmapped chunks: open-addressing hash keyed by chunk address, under
 *     map_lock (mmapped chunks are >= 128 KiB, so this is not a hot path);
 *   - non-main heaps: a fixed table of 64 MiB-aligned bases, written under
 *     map_lock and read without locks (free() asks on every call);
 *   - main-arena segments mapped after the emulated brk ran out.
 */
#include "ptmalloc/ptmalloc_arena.h"

#define MM_EMPTY ((uintptr_t)0)
#define MM_DELETED ((uintptr_t)1)

static size_t mm_hash(uintptr_t chunk, size_t cap)
{
    uint64_t h = (uint64_t)chunk * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static pt_mmrec_t *mm_slot(pt_mmrec_t *tab, size_t cap, uintptr_t chunk, bool for_insert)
{
    size_t i = mm_hash(chunk, cap);
    pt_mmrec_t *tomb = NULL;
    for (size_t n = 0; n < cap; n++, i = (i + 1) & (cap - 1)) {
        pt_mmrec_t *r = &tab[i];
        if (r->chunk == chunk)
            return r;
        if (r->chunk == MM_DELETED) {
            if (!tomb)
                tomb = r;
            continue;
        }
        if (r->chunk == MM_EMPTY)
            return for_insert ? (tomb ? tomb : r) : NULL;
    }
    return for_insert ? tomb : NULL;
}

static int mm_grow(pt_inst_t *inst)
{
    size_t ncap = inst->mm_cap ? inst->mm_cap * 2 : 1024;
    size_t bytes = PT_ALIGN_UP(ncap * sizeof(pt_mmrec_t), mallet_os_page_size());
    pt_mmrec_t *tab = mallet_os_map(NULL, bytes, MALLET_PROT_RW);
    if (!tab)
        return ENOMEM;
    for (size_t i = 0; i < inst->mm_cap; i++) {
        pt_mmrec_t *r = &inst->mm[i];
        if (r->chunk > MM_DELETED)
            *mm_slot(tab, ncap, r->chunk, true) = *r;
    }
    if (inst->mm)
        mallet_os_unmap(inst->mm, PT_ALIGN_UP(inst->mm_cap * sizeof(pt_mmrec_t), mallet_os_page_size()));
    inst->mm = tab;
    inst->mm_cap = ncap;
    inst->mm_used = inst->mm_live;
    return 0;
}

int pt_mm_add(pt_inst_t *inst, uintptr_t chunk, uintptr_t base, size_t len)
{
    mallet_lock(&inst->map_lock);
    if ((inst->mm_used + 1) * 4 >= inst->mm_cap * 3 && mm_grow(inst) != 0) {
        mallet_unlock(&inst->map_lock);
        return ENOMEM;
    }
    pt_mmrec_t *r = mm_slot(inst->mm, inst->mm_cap, chunk, true);
    if (pt_hard(inst)) /* only hardened mode fills the ring */
        for (unsigned i = 0; i < 64; i++)
            if (inst->unmapped[i] == chunk)
                inst->unmapped[i] = 0; /* the address is live again */
    if (r->chunk <= MM_DELETED) {
        if (r->chunk == MM_EMPTY)
            inst->mm_used++;
        inst->mm_live++;
    }
    r->chunk = chunk;
    r->base = base;
    r->len = len;
    mallet_unlock(&inst->map_lock);
    return 0;
}

bool pt_mm_find(pt_inst_t *inst, uintptr_t chunk, pt_mmrec_t *out)
{
    bool found = false;
    if (chunk <= MM_DELETED)
        return false;
    mallet_lock(&inst->map_lock);
    if (inst->mm_cap) {
        pt_mmrec_t *r = mm_slot(inst->mm, inst->mm_cap, chunk, false);
        if (r) {
            found = true;
            if (out)
                *out = *r;
        }
    }
    mallet_unlock(&inst->map_lock);
    return found;
}

void pt_mm_remove(pt_inst_t *inst, uintptr_t chunk)
{
    mallet_lock(&inst->map_lock);
    if (inst->mm_cap) {
        pt_mmrec_t *r = mm_slot(inst->mm, inst->mm_cap, chunk, false);
        if (r) {
            r->chunk = MM_DELETED;
            inst->mm_live--;
        }
    }
    mallet_unlock(&inst->map_lock);
}

void pt_mm_update(pt_inst_t *inst, uintptr_t old_chunk, uintptr_t chunk, uintptr_t base, size_t len)
{
    pt_mm_remove(inst, old_chunk);
    pt_mm_add(inst, chunk, base, len);
}

bool pt_mm_contains(pt_inst_t *inst, uintptr_t addr)
{
    bool found = false;
    mallet_lock(&inst->map_lock);
    for (size_t i = 0; i < inst->mm_cap && !found; i++) {
        pt_mmrec_t *r = &inst->mm[i];
        if (r->chunk > MM_DELETED && addr >= r->base && addr < r->base + r->len)
            found = true;
    }
    mallet_unlock(&inst->map_lock);
    return found;
}

/* ---- heaps ------------------------------------------------------------------ */

int pt_heap_add(pt_inst_t *inst, pt_heap_info_t *h)
{
    uintptr_t base = (uintptr_t)h;
    mallet_lock(&inst->map_lock);
    if (inst->nheaps + 1 >= PT_HEAP_SLOTS * 3 / 4) {
        mallet_unlock(&inst->map_lock);
        return ENOMEM;
    }
    size_t i = pt_heap_hash(base);
    while (inst->heaps[i] > 1 && inst->heaps[i] != base)
        i = (i + 1) & (PT_HEAP_SLOTS - 1);
    __atomic_store_n(&inst->heaps[i], base, __ATOMIC_RELEASE);
    __atomic_add_fetch(&inst->nheaps, 1, __ATOMIC_RELAXED);
    mallet_unlock(&inst->map_lock);
    return 0;
}

void pt_heap_remove(pt_inst_t *inst, pt_heap_info_t *h)
{
    uintptr_t base = (uintptr_t)h;
    mallet_lock(&inst->map_lock);
    size_t i = pt_heap_hash(base);
    for (size_t n = 0; n < PT_HEAP_SLOTS && inst->heaps[i] != 0; n++, i = (i + 1) & (PT_HEAP_SLOTS - 1)) {
        if (inst->heaps[i] == base) {
            __atomic_store_n(&inst->heaps[i], (uintptr_t)1, __ATOMIC_RELEASE);
            __atomic_sub_fetch(&inst->nheaps, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    mallet_unlock(&inst->map_lock);
}

bool pt_heap_known(const pt_inst_t *inst, uintptr_t base)
{
    size_t i = pt_heap_hash(base);
    for (size_t n = 0; n < PT_HEAP_SLOTS; n++, i = (i + 1) & (PT_HEAP_SLOTS - 1)) {
        uintptr_t v = __atomic_load_n(&inst->heaps[i], __ATOMIC_ACQUIRE);
        if (v == base)
            return true;
        if (v == 0)
            return false;
    }
    return false;
}

pt_arena_t *pt_arena_of_addr(pt_inst_t *inst, uintptr_t addr)
{
    if (addr >= (uintptr_t)inst->brk_base && addr < (uintptr_t)inst->brk_end)
        return &inst->main_arena;
    uintptr_t hb = addr & ~(PT_HEAP_MAX_SIZE - 1);
    if (__atomic_load_n(&inst->nheaps, __ATOMIC_RELAXED) && pt_heap_known(inst, hb))
        return ((pt_heap_info_t *)hb)->ar_ptr;
    unsigned n = __atomic_load_n(&inst->nsegs, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        if (addr >= (uintptr_t)inst->segs[i].base && addr < (uintptr_t)inst->segs[i].base + inst->segs[i].len)
            return &inst->main_arena;
    return NULL;
}

/* The arena whose committed memory holds p's 16-byte header, or NULL. */
pt_arena_t *pt_owner_of_chunk(pt_inst_t *inst, mchunkptr p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)inst->brk_base && a + PT_HDR <= (uintptr_t)__atomic_load_n(&inst->brk_cur, __ATOMIC_RELAXED))
        return &inst->main_arena;
    pt_arena_t *av = NULL;
    if (a < (uintptr_t)inst->brk_base || a >= (uintptr_t)inst->brk_end) {
        uintptr_t hb = a & ~(PT_HEAP_MAX_SIZE - 1);
        if (__atomic_load_n(&inst->nheaps, __ATOMIC_RELAXED) && pt_heap_known(inst, hb)) {
            pt_heap_info_t *h = (pt_heap_info_t *)hb;
            if (a >= hb + sizeof(pt_heap_info_t) && a + PT_HDR <= hb + __atomic_load_n(&h->size, __ATOMIC_RELAXED))
                av = h->ar_ptr;
        } else {
            av = pt_arena_of_addr(inst, a);
            if (av != NULL && !pt_arena_of_addr(inst, a + PT_HDR - 1))
                av = NULL;
        }
    }
    return av;
}

bool pt_recently_unmapped(pt_inst_t *inst, uintptr_t chunk)
{
    bool found = false;
    mallet_lock(&inst->map_lock);
    for (unsigned i = 0; i < 64 && !found; i++)
        found = inst->unmapped[i] == chunk;
    mallet_unlock(&inst->map_lock);
    return found;
}

bool pt_link_ok(pt_inst_t *inst, pt_arena_t *av, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= (uintptr_t)av->bins - 16 && a < (uintptr_t)(av->bins + PT_NBINS * 2 - 2))
        return true; /* a bin head overlaying the bins array */
    return (a & PT_ALIGN_MASK) == 0 && pt_owner_of_chunk(inst, (mchunkptr)p) == av &&
           pt_owner_of_chunk(inst, (mchunkptr)(a + 32)) == av;
}

/* destroy(): unmap everything recorded, trusting nothing inside the heaps. */
void pt_release_all_mappings(pt_inst_t *inst)
{
    pt_unmap_arenas(inst);
    for (size_t i = 0; i < inst->mm_cap; i++)
        if (inst->mm[i].chunk > MM_DELETED)
            mallet_os_unmap((void *)inst->mm[i].base, inst->mm[i].len);
    if (inst->mm)
        mallet_os_unmap(inst->mm, PT_ALIGN_UP(inst->mm_cap * sizeof(pt_mmrec_t), mallet_os_page_size()));
    inst->mm = NULL;
    inst->mm_cap = inst->mm_used = inst->mm_live = 0;
    for (size_t i = 0; i < PT_HEAP_SLOTS; i++)
        if (inst->heaps[i] > 1)
            mallet_os_unmap((void *)inst->heaps[i], PT_HEAP_MAX_SIZE);
    for (unsigned i = 0; i < inst->nsegs; i++)
        mallet_os_unmap(inst->segs[i].base, inst->segs[i].len);
    if (inst->brk_map)
        mallet_os_unmap(inst->brk_map, inst->brk_map_len);
}
