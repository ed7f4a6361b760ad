/*
 * ptmalloc_api.c — the public entry points of one instance, as glibc's
 * __libc_malloc / free / calloc / realloc / memalign (ALLOCATOR_REFERENCE.md
 * §D.11), plus realloc's arena part (_int_realloc) and _int_memalign.
 *
 * The tcache is consulted first (malloc) or filled first (free) without
 * any lock, and in compat mode free pushes fastbin chunks without it too
 * (ptmalloc_free.c); everything else runs under the arena lock. As in glibc,
 * malloc, calloc, realloc and free create the thread's tcache on first
 * use and memalign does not (where a thread's first blocks land depends
 * on it; tests/ptmalloc/test_ptmalloc_glibc_diff.c compares). One mallet addition
 * in front of glibc's logic: a pointer is first located in the instance's
 * own registries (brk range, heaps, mmapped chunks) before its header is
 * read, so a foreign pointer is reported ("free(): invalid pointer") and
 * never dereferenced.
 *
 * A poisoned instance (an error was reported and the handler returned)
 * allocates nothing more and frees nothing more: see mallet/error.h.
 */
#include "ptmalloc/ptmalloc_arena.h"

/* __libc_malloc past the tcache: the arena. ts and tc are the thread's
 * state and tcache, both possibly NULL. */
static __attribute__((noinline)) void *malloc_arena(pt_inst_t *inst, size_t bytes, pt_tstate_t *ts, pt_tcache_t *tc)
{
    /* A tail call (no frame kept for an errno fix-up): _int_malloc's own
     * failures set ENOMEM, as glibc's do, and the front end sets it on
     * every NULL. */
    if (pt_single_thread())
        return pt_int_malloc(inst, &inst->main_arena, bytes, tc);
    pt_arena_t *av = pt_arena_get(inst, ts, bytes);
    void *victim = pt_int_malloc(inst, av, bytes, tc);
    if (victim == NULL && av != NULL && !inst->poisoned) {
        av = pt_arena_get_retry(inst, ts, av, bytes);
        victim = pt_int_malloc(inst, av, bytes, tc);
    }
    if (av != NULL)
        pt_unlock(&av->mutex);
    if (victim == NULL)
        errno = ENOMEM;
    return victim;
}

/* Everything but a plain tcache hit or miss: first call of the thread, a
 * bad entry, hardened mode's hit, a poisoned instance, a huge request. */
static __attribute__((noinline)) void *malloc_slow(pt_inst_t *inst, size_t bytes, pt_tstate_t *ts)
{
    size_t tbytes = pt_checked_request2size(bytes);
    if (tbytes == 0 || inst->poisoned) {
        errno = ENOMEM;
        return NULL;
    }
    size_t tc_idx = pt_csize2tidx(tbytes);
    if (ts == NULL)
        ts = pt_tstate(inst);
    pt_maybe_init_tcache(inst, ts);
    pt_tcache_t *tc = ts ? ts->tcache : NULL;
    if (tc != NULL && tc_idx < inst->mp.tcache_bins && tc->counts[tc_idx] > 0) {
        void *v = pt_tcache_get(inst, tc, tc_idx);
        if (v == NULL)
            errno = ENOMEM;
        return v;
    }
    return malloc_arena(inst, bytes, ts, tc);
}

/* glibc's __libc_malloc takes a tcache hit before anything else; so does
 * this, in a function small enough to need no saved registers; a miss
 * goes straight to the arena. The slow path repeats every step, so any
 * doubt (hardened mode, a misaligned entry to report) simply goes there. */
void *pt_malloc(pt_inst_t *inst, size_t bytes)
{
    pt_tstate_t *ts = pt_tstate_remembered(inst);
    if (PT_LIKELY(ts != NULL) && PT_LIKELY(bytes <= PT_MAX_REQUEST - 64)) {
        pt_tcache_t *tc = ts->tcache;
        size_t idx = pt_csize2tidx(pt_request2size(bytes));
        if (PT_LIKELY(tc != NULL) && idx < inst->mp.tcache_bins && tc->counts[idx] > 0) {
            pt_tentry_t *e = tc->entries[idx];
            if (PT_LIKELY(pt_aligned_ok((uintptr_t)e)) && PT_LIKELY(!pt_hard(inst)) && PT_LIKELY(!inst->poisoned)) {
                tc->entries[idx] = PT_REVEAL_PTR(e->next);
                --tc->counts[idx];
                e->key = 0;
                return e;
            }
        } else if (PT_LIKELY(tc != NULL)) {
            /* a miss with the tcache set up: what malloc_slow would find
             * after repeating these tests (_int_malloc checks poisoning).
             * The single-threaded case is malloc_arena's first test, made
             * here so that it is a tail call with no frame in between. */
            if (pt_single_thread())
                return pt_int_malloc(inst, &inst->main_arena, bytes, tc);
            return malloc_arena(inst, bytes, ts, tc);
        }
    }
    return malloc_slow(inst, bytes, ts);
}

static void free_mmapped(pt_inst_t *inst, mchunkptr p)
{
    size_t sz = pt_chunksize_nomask(p);
    if (!inst->mp.no_dyn_threshold && sz > __atomic_load_n(&inst->mp.mmap_threshold, __ATOMIC_RELAXED) &&
        sz <= PT_DEFAULT_MMAP_THRESHOLD_MAX && pt_mm_find(inst, (uintptr_t)p, NULL)) {
        /* dynamic threshold: blocks this size are transient, serve them from the heap */
        __atomic_store_n(&inst->mp.mmap_threshold, pt_chunksize(p), __ATOMIC_RELAXED);
        __atomic_store_n(&inst->mp.trim_threshold, 2 * pt_chunksize(p), __ATOMIC_RELAXED);
    }
    pt_munmap_chunk(inst, p);
}

/* av: pt_owner_quick's answer for p (NULL: not known yet); ts: the
 * thread's state if known. */
static __attribute__((noinline)) void free_slow(pt_inst_t *inst, void *mem, pt_arena_t *av, pt_tstate_t *ts)
{
    if (inst->poisoned)
        return;
    mchunkptr p = pt_mem2chunk(mem);
    if (av == NULL)
        av = pt_owner_of_chunk(inst, p);
    if (av == NULL) {
        if (pt_mm_find(inst, (uintptr_t)p, NULL))
            free_mmapped(inst, p);
        else if (pt_hard(inst) && pt_recently_unmapped(inst, (uintptr_t)p))
            pt_error(inst, MALLET_ERR_DOUBLE_FREE, mem, "munmap_chunk(): invalid pointer");
        else
            pt_error(inst, MALLET_ERR_INVALID_FREE, mem, "free(): invalid pointer");
        return;
    }
    if (pt_chunk_is_mmapped(p)) {
        free_mmapped(inst, p);
        return;
    }
    if (ts == NULL)
        ts = pt_tstate(inst);
    pt_maybe_init_tcache(inst, ts);
    pt_int_free(inst, av, p, ts ? ts->tcache : NULL, false);
}

/* The common free: an in-use chunk of ours, of tcache size, whose bin has
 * room. The same checks as _int_free's first steps (pointer, size, the
 * tcache key); a chunk failing any of them takes the slow path, which runs
 * them again and reports. */
void pt_free(pt_inst_t *inst, void *mem)
{
    if (mem == NULL)
        return;
    mchunkptr p = pt_mem2chunk(mem);
    pt_arena_t *av = pt_owner_quick(inst, p); /* NULL: free_slow decides */
    pt_tstate_t *ts = pt_tstate_remembered(inst);
    if (PT_LIKELY(av != NULL) && PT_LIKELY(ts != NULL) && PT_LIKELY(ts->tcache != NULL)) {
        pt_tcache_t *tc = ts->tcache;
        size_t word = pt_chunksize_nomask(p), size = word & ~PT_SIZE_BITS;
        size_t idx = pt_csize2tidx(size);
        if (PT_LIKELY(!(word & PT_IS_MMAPPED)) && PT_LIKELY((uintptr_t)p <= (uintptr_t)-size) &&
            PT_LIKELY(!pt_misaligned_chunk(p)) && PT_LIKELY(size >= PT_MINSIZE) && PT_LIKELY(pt_aligned_ok(size)) &&
            PT_LIKELY(!inst->poisoned)) {
            if (idx < inst->mp.tcache_bins) {
                if (PT_UNLIKELY(((pt_tentry_t *)mem)->key == inst->tcache_key))
                    goto slow; /* maybe a double free: the slow path scans the bin */
                if (tc->counts[idx] < inst->mp.tcache_count) {
                    pt_tcache_put(inst, tc, p, idx);
                    return;
                }
            }
            /* The rest of _int_free, as free_slow -> pt_int_free would
             * reach it after the same checks (a full bin or no bin). */
            if (size <= pt_max_fast(inst) && !pt_hard(inst))
                pt_free_fast(inst, av, p, size, false);
            else
                pt_int_free_arena(inst, av, p, size, tc, false);
            return;
        }
    }
slow:
    free_slow(inst, mem, av, ts);
}

size_t pt_usable_size(pt_inst_t *inst, const void *mem)
{
    if (mem == NULL)
        return 0;
    mchunkptr p = pt_mem2chunk(mem);
    pt_arena_t *av = pt_owner_fast(inst, p);
    if (av == NULL) {
        pt_mmrec_t rec;
        if (pt_mm_find(inst, (uintptr_t)p, &rec))
            return pt_chunksize(p) - PT_HDR;
        return 0;
    }
    if (pt_misaligned_chunk(p) || pt_chunk_is_mmapped(p))
        return 0;
    size_t size = pt_chunksize(p);
    if (size < PT_MINSIZE || size > pt_sysmem(av) || pt_owner_of_chunk(inst, pt_chunk_at(p, size)) != av)
        return 0;
    return pt_inuse(p) ? size - PT_SIZE_SZ : 0;
}

void *pt_calloc(pt_inst_t *inst, size_t n, size_t elem)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, elem, &bytes) || pt_checked_request2size(bytes) == 0 || inst->poisoned) {
        errno = ENOMEM;
        return NULL;
    }
    pt_tstate_t *ts = pt_tstate(inst);
    pt_maybe_init_tcache(inst, ts);
    pt_tcache_t *tc = ts ? ts->tcache : NULL;
    const bool single = pt_single_thread();
    pt_arena_t *av = single ? &inst->main_arena : pt_arena_get(inst, ts, bytes);
    mchunkptr oldtop = NULL;
    size_t oldtopsize = 0;
    if (av != NULL && av->top != pt_initial_top(av)) {
        oldtop = av->top;
        oldtopsize = pt_chunksize(oldtop);
        /* Memory past the highest point top ever reached was never used:
         * it is still zero from the OS and need not be cleared. */
        if (pt_is_main(inst, av)) {
            if (pt_contiguous(av) && inst->mp.sbrk_base &&
                oldtopsize < (size_t)(inst->mp.sbrk_base + av->max_system_mem - (char *)oldtop))
                oldtopsize = (size_t)(inst->mp.sbrk_base + av->max_system_mem - (char *)oldtop);
        } else {
            pt_heap_info_t *heap = pt_heap_for_ptr(oldtop);
            if (oldtopsize < (size_t)((char *)heap + heap->mprotect_size - (char *)oldtop))
                oldtopsize = (size_t)((char *)heap + heap->mprotect_size - (char *)oldtop);
        }
    }
    void *mem = pt_int_malloc(inst, av, bytes, tc);
    if (!single) {
        if (mem == NULL && av != NULL && !inst->poisoned) {
            av = pt_arena_get_retry(inst, ts, av, bytes);
            mem = pt_int_malloc(inst, av, bytes, tc);
        }
        if (av != NULL)
            pt_unlock(&av->mutex);
    }
    if (mem == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    mchunkptr p = pt_mem2chunk(mem);
    if (pt_chunk_is_mmapped(p)) {
        if (PT_UNLIKELY(inst->mp.perturb_byte))
            memset(mem, 0, bytes);
        return mem; /* fresh pages are zero */
    }
    size_t csz = pt_chunksize(p);
    if (inst->mp.perturb_byte == 0 && p == oldtop && csz > oldtopsize)
        csz = oldtopsize;
    memset(mem, 0, csz - PT_SIZE_SZ);
    return mem;
}

/* glibc _int_realloc: the arena is locked; oldp is not mmapped. */
static void *int_realloc(pt_inst_t *inst, pt_arena_t *av, mchunkptr oldp, size_t oldsize, size_t nb,
                         pt_tcache_t *tc)
{
    mchunkptr newp, next, remainder;
    size_t newsize, nextsize, remainder_size;

    if (PT_UNLIKELY(pt_chunksize_nomask(oldp) <= PT_HDR) || PT_UNLIKELY(oldsize >= av->system_mem)) {
        pt_error(inst, MALLET_ERR_INVALID_REALLOC, pt_chunk2mem(oldp), "realloc(): invalid old size");
        return NULL;
    }
    next = pt_chunk_at(oldp, oldsize);
    nextsize = pt_chunksize(next);
    if (PT_UNLIKELY(pt_chunksize_nomask(next) <= PT_HDR) || PT_UNLIKELY(nextsize >= av->system_mem)) {
        pt_error(inst, MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(oldp), "realloc(): invalid next size");
        return NULL;
    }
    if (oldsize >= nb) {
        newp = oldp;
        newsize = oldsize;
    } else {
        if (next == av->top && (newsize = oldsize + nextsize) >= nb + PT_MINSIZE) {
            /* grow into top */
            pt_set_head_size(oldp, nb | pt_arena_bit(inst, av));
            av->top = pt_chunk_at(oldp, nb);
            pt_set_head(av->top, (newsize - nb) | PT_PREV_INUSE);
            return pt_chunk2mem(oldp);
        } else if (next != av->top && !pt_inuse(next) && (newsize = oldsize + nextsize) >= nb) {
            /* absorb the free next chunk */
            newp = oldp;
            if (!pt_unlink_chunk(inst, av, next))
                return NULL;
        } else {
            void *newmem = pt_int_malloc(inst, av, nb - PT_ALIGN_MASK, tc);
            if (newmem == NULL)
                return NULL;
            newp = pt_mem2chunk(newmem);
            newsize = pt_chunksize(newp);
            if (newp == next) {
                /* the new chunk follows the old one: merge, no copy */
                newsize += oldsize;
                newp = oldp;
            } else {
                memcpy(newmem, pt_chunk2mem(oldp), oldsize - PT_SIZE_SZ);
                pt_int_free(inst, av, oldp, tc, true);
                return pt_chunk2mem(newp);
            }
        }
    }
    /* free the tail if it is big enough to be a chunk */
    remainder_size = newsize - nb;
    if (remainder_size < PT_MINSIZE) {
        pt_set_head_size(newp, newsize | pt_arena_bit(inst, av));
        pt_set_inuse_at(newp, newsize);
    } else {
        remainder = pt_chunk_at(newp, nb);
        pt_set_head_size(newp, nb | pt_arena_bit(inst, av));
        pt_set_head(remainder, remainder_size | PT_PREV_INUSE | pt_arena_bit(inst, av));
        pt_set_inuse_at(remainder, remainder_size);
        pt_int_free(inst, av, remainder, tc, true);
    }
    return pt_chunk2mem(newp);
}

void *pt_realloc(pt_inst_t *inst, void *oldmem, size_t bytes)
{
    if (bytes == 0 && oldmem != NULL) {
        pt_free(inst, oldmem);
        return NULL;
    }
    if (oldmem == NULL)
        return pt_malloc(inst, bytes);
    if (inst->poisoned) {
        errno = ENOMEM;
        return NULL;
    }
    mchunkptr oldp = pt_mem2chunk(oldmem);
    pt_arena_t *ar_ptr = pt_owner_fast(inst, oldp);
    bool mmapped;
    if (ar_ptr == NULL) {
        if (!pt_mm_find(inst, (uintptr_t)oldp, NULL)) {
            pt_error(inst, MALLET_ERR_INVALID_REALLOC, oldmem, "realloc(): invalid pointer");
            return NULL;
        }
        mmapped = true;
    } else {
        mmapped = pt_chunk_is_mmapped(oldp);
    }
    size_t oldsize = pt_chunksize(oldp);
    pt_tstate_t *ts = NULL;
    if (!mmapped) {
        ts = pt_tstate(inst);
        pt_maybe_init_tcache(inst, ts);
    }
    if (PT_UNLIKELY((uintptr_t)oldp > (uintptr_t)-oldsize) || PT_UNLIKELY(pt_misaligned_chunk(oldp))) {
        pt_error(inst, MALLET_ERR_INVALID_REALLOC, oldmem, "realloc(): invalid pointer");
        return NULL;
    }
    size_t nb = pt_checked_request2size(bytes);
    if (nb == 0) {
        errno = ENOMEM;
        return NULL;
    }
    if (mmapped) {
        bool bad = false;
        mchunkptr newp = pt_mremap_chunk(inst, oldp, nb, &bad);
        if (newp)
            return pt_chunk2mem(newp);
        if (bad) {
            errno = ENOMEM;
            return NULL;
        }
        if (oldsize - PT_SIZE_SZ >= nb)
            return oldmem; /* do nothing */
        void *newmem = pt_malloc(inst, bytes);
        if (newmem == NULL)
            return NULL;
        memcpy(newmem, oldmem, oldsize - PT_HDR);
        pt_munmap_chunk(inst, oldp);
        return newmem;
    }
    pt_tcache_t *tc = ts ? ts->tcache : NULL;
    if (pt_single_thread()) {
        void *q = int_realloc(inst, ar_ptr, oldp, oldsize, nb, tc);
        if (q == NULL)
            errno = ENOMEM;
        return q;
    }
    pt_lock(&ar_ptr->mutex);
    void *newp = int_realloc(inst, ar_ptr, oldp, oldsize, nb, tc);
    pt_unlock(&ar_ptr->mutex);
    if (newp == NULL && !inst->poisoned) {
        /* try another arena */
        newp = pt_malloc(inst, bytes);
        if (newp != NULL) {
            memcpy(newp, oldmem, oldsize - PT_SIZE_SZ);
            pt_int_free(inst, ar_ptr, oldp, tc, false);
        }
    }
    if (newp == NULL)
        errno = ENOMEM;
    return newp;
}

/* glibc _int_memalign: over-allocate, carve an aligned chunk, free the
 * leader and the tail. */
static void *int_memalign(pt_inst_t *inst, pt_arena_t *av, size_t alignment, size_t bytes, pt_tcache_t *tc)
{
    size_t nb = pt_checked_request2size(bytes);
    if (nb == 0 || nb > SIZE_MAX - alignment - PT_MINSIZE) {
        errno = ENOMEM;
        return NULL;
    }
    char *m = pt_int_malloc(inst, av, nb + alignment + PT_MINSIZE, tc);
    if (m == NULL)
        return NULL;
    mchunkptr p = pt_mem2chunk(m);
    if (((uintptr_t)m % alignment) != 0) {
        char *brk = (char *)pt_mem2chunk((void *)(((uintptr_t)(m + alignment - 1)) & -(uintptr_t)alignment));
        if ((size_t)(brk - (char *)p) < PT_MINSIZE)
            brk += alignment;
        mchunkptr newp = (mchunkptr)brk;
        size_t leadsize = (size_t)(brk - (char *)p);
        size_t newsize = pt_chunksize(p) - leadsize;
        if (pt_chunk_is_mmapped(p)) {
            pt_mmrec_t rec;
            pt_mm_find(inst, (uintptr_t)p, &rec);
            newp->prev_size = p->prev_size + leadsize;
            pt_set_head(newp, newsize | PT_IS_MMAPPED);
            pt_mm_update(inst, (uintptr_t)p, (uintptr_t)newp, rec.base, rec.len);
            return pt_chunk2mem(newp);
        }
        pt_set_head(newp, newsize | PT_PREV_INUSE | pt_arena_bit(inst, av));
        pt_set_inuse_at(newp, newsize);
        pt_set_head_size(p, leadsize | pt_arena_bit(inst, av));
        pt_int_free(inst, av, p, tc, true);
        p = newp;
    }
    if (!pt_chunk_is_mmapped(p)) {
        size_t size = pt_chunksize(p);
        if (size > nb + PT_MINSIZE) {
            size_t remainder_size = size - nb;
            mchunkptr remainder = pt_chunk_at(p, nb);
            pt_set_head(remainder, remainder_size | PT_PREV_INUSE | pt_arena_bit(inst, av));
            pt_set_head_size(p, nb);
            pt_int_free(inst, av, remainder, tc, true);
        }
    }
    return pt_chunk2mem(p);
}

void *pt_memalign(pt_inst_t *inst, size_t alignment, size_t bytes)
{
    if (alignment <= PT_ALIGNMENT)
        return pt_malloc(inst, bytes);
    if (alignment < PT_MINSIZE)
        alignment = PT_MINSIZE;
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if ((alignment & (alignment - 1)) != 0) {
        size_t a = PT_ALIGNMENT * 2;
        while (a < alignment)
            a <<= 1;
        alignment = a;
    }
    if (inst->poisoned) {
        errno = ENOMEM;
        return NULL;
    }
    /* glibc 2.36's _mid_memalign does not create the thread's tcache (malloc,
     * calloc, realloc and free do): a thread whose first call is memalign
     * gets its block at the very start of its new arena, and the tcache
     * comes later. An existing tcache still takes what _int_malloc stashes. */
    pt_tstate_t *ts = pt_tstate(inst);
    pt_tcache_t *tc = ts ? ts->tcache : NULL;
    if (pt_single_thread()) {
        void *q = int_memalign(inst, &inst->main_arena, alignment, bytes, tc);
        if (q == NULL)
            errno = ENOMEM;
        return q;
    }
    pt_arena_t *av = pt_arena_get(inst, ts, bytes + alignment + PT_MINSIZE);
    void *p = int_memalign(inst, av, alignment, bytes, tc);
    if (p == NULL && av != NULL && !inst->poisoned) {
        av = pt_arena_get_retry(inst, ts, av, bytes);
        p = int_memalign(inst, av, alignment, bytes, tc);
    }
    if (av != NULL)
        pt_unlock(&av->mutex);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}
