/*
 * ptmalloc_free.c — _int_free, unlink_chunk and malloc_consolidate
 * (ALLOCATOR_REFERENCE.md §D.5, §D.7, §D.8).
 *
 * A freed chunk goes, in order: to the thread's tcache if its bin has
 * room; to a fastbin if it is at most max_fast (still marked in use, so
 * neighbours never merge with it); otherwise it is merged with free
 * neighbours (backward, then forward or into top) and put at the head of
 * the unsorted list. A merged chunk of 64 KiB or more triggers
 * malloc_consolidate and a trim of the top.
 *
 * The fastbin push takes no lock (glibc 2.36; hardened mode takes it, for
 * its extra checks). Every check runs before the chunk is linked anywhere,
 * so when an error handler returns the operation is simply abandoned (the
 * chunk leaks).
 */
#include "ptmalloc/ptmalloc_arena.h"

/* Reports an unlink failure; a separate cold function so that every exit
 * of the unlink below is a tail call and its common path needs no frame. */
static __attribute__((noinline, cold)) bool unlink_fail(pt_inst_t *inst, mallet_error_kind_t kind, mchunkptr p,
                                                        const char *msg)
{
    pt_error(inst, kind, pt_chunk2mem(p), msg);
    return false;
}

/* glibc's unlink_chunk. hard is a compile-time constant at every use: the
 * compat body carries no trace of hardened mode's link checks, which cost
 * it a full frame when they were tested at run time (39 instructions per
 * call against glibc's 20 on fragmentation, results/2026-12-02_ptmalloc_perf5). */
static inline __attribute__((always_inline)) bool unlink_body(pt_inst_t *inst, pt_arena_t *av, mchunkptr p,
                                                              const bool hard)
{
    if (PT_UNLIKELY(pt_chunksize(p) != pt_next_chunk(p)->prev_size))
        return unlink_fail(inst, MALLET_ERR_HEADER_CORRUPTION, p, "corrupted size vs. prev_size");
    mchunkptr fd = p->fd, bk = p->bk;
    if (hard && (!pt_link_ok(inst, av, fd) || !pt_link_ok(inst, av, bk) ||
                 (!pt_in_smallbin_range(pt_chunksize_nomask(p)) && p->fd_nextsize != NULL &&
                  (!pt_link_ok(inst, av, p->fd_nextsize) || !pt_link_ok(inst, av, p->bk_nextsize)))))
        return unlink_fail(inst, MALLET_ERR_FREELIST_CORRUPTION, p, "corrupted double-linked list");
    if (PT_UNLIKELY(fd->bk != p || bk->fd != p))
        return unlink_fail(inst, MALLET_ERR_FREELIST_CORRUPTION, p, "corrupted double-linked list");
    bool large = !pt_in_smallbin_range(pt_chunksize_nomask(p)) && p->fd_nextsize != NULL;
    if (large && PT_UNLIKELY(p->fd_nextsize->bk_nextsize != p || p->bk_nextsize->fd_nextsize != p))
        return unlink_fail(inst, MALLET_ERR_FREELIST_CORRUPTION, p, "corrupted double-linked list (not small)");
    fd->bk = bk;
    bk->fd = fd;
    if (large) {
        if (fd->fd_nextsize == NULL) {
            /* fd is the next chunk of the same size: it takes p's place */
            if (p->fd_nextsize == p) {
                fd->fd_nextsize = fd->bk_nextsize = fd;
            } else {
                fd->fd_nextsize = p->fd_nextsize;
                fd->bk_nextsize = p->bk_nextsize;
                p->fd_nextsize->bk_nextsize = fd;
                p->bk_nextsize->fd_nextsize = fd;
            }
        } else {
            p->fd_nextsize->bk_nextsize = p->bk_nextsize;
            p->bk_nextsize->fd_nextsize = p->fd_nextsize;
        }
    }
    return true;
}

static __attribute__((noinline)) bool unlink_hardened(pt_inst_t *inst, pt_arena_t *av, mchunkptr p)
{
    return unlink_body(inst, av, p, true);
}

bool pt_unlink_chunk(pt_inst_t *inst, pt_arena_t *av, mchunkptr p)
{
    if (PT_UNLIKELY(pt_hard(inst)))
        return unlink_hardened(inst, av, p);
    return unlink_body(inst, av, p, false);
}

/* Merge p (size bytes, not linked anywhere) with its free neighbours and
 * put the result at the unsorted head or into top. Returns the merged size,
 * 0 after an error. */
static inline __attribute__((always_inline)) size_t merge_and_bin(pt_inst_t *inst, pt_arena_t *av, mchunkptr p,
                                                                  size_t size, mchunkptr nextchunk, size_t nextsize,
                                                                  const char *prev_msg, const char *unsorted_msg,
                                                                  const bool hard)
{
    if (!pt_prev_inuse(p)) {
        size_t prevsize = p->prev_size;
        size += prevsize;
        p = pt_chunk_minus(p, prevsize);
        if (PT_UNLIKELY(pt_chunksize(p) != prevsize)) {
            pt_error(inst, MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(p), prev_msg);
            return 0;
        }
        if (!(hard ? unlink_hardened(inst, av, p) : unlink_body(inst, av, p, false)))
            return 0;
    }
    if (nextchunk != av->top) {
        if (!pt_inuse_at(nextchunk, nextsize)) {
            if (!(hard ? unlink_hardened(inst, av, nextchunk) : unlink_body(inst, av, nextchunk, false)))
                return 0;
            size += nextsize;
        } else {
            pt_clear_inuse_at(nextchunk, 0);
        }
        mchunkptr bck = pt_unsorted_chunks(av);
        mchunkptr fwd = bck->fd;
        if (unsorted_msg && PT_UNLIKELY(fwd->bk != bck)) {
            pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(p), unsorted_msg);
            return 0;
        }
        p->fd = fwd;
        p->bk = bck;
        if (!pt_in_smallbin_range(size)) {
            p->fd_nextsize = NULL;
            p->bk_nextsize = NULL;
        }
        bck->fd = p;
        fwd->bk = p;
        pt_set_head(p, size | PT_PREV_INUSE);
        pt_set_foot(p, size);
    } else {
        size += nextsize;
        pt_set_head(p, size | PT_PREV_INUSE);
        av->top = p;
    }
    return size;
}

/* glibc's malloc_consolidate; hard is a compile-time constant (see unlink_body). */
static inline __attribute__((always_inline)) void consolidate_body(pt_inst_t *inst, pt_arena_t *av, const bool hard)
{
    pt_set_have_fastchunks(av, false);
    for (unsigned i = 0; i < PT_NFASTBINS; i++) {
        mchunkptr *fb = &av->fastbinsY[i];
        /* one exchange: a free may be pushing onto this bin right now */
        mchunkptr p = __atomic_exchange_n(fb, NULL, __ATOMIC_ACQUIRE);
        while (p != NULL) {
            if (PT_UNLIKELY(pt_misaligned_chunk(p))) {
                pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, p,
                         "malloc_consolidate(): unaligned fastbin chunk detected");
                return;
            }
            if (hard && !pt_misaligned_chunk(p) && !pt_owner_of_chunk(inst, p)) {
                pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, p,
                         "malloc_consolidate(): corrupted fastbin entry (hardened)");
                return;
            }
            if (PT_UNLIKELY(&av->fastbinsY[pt_fastbin_index(pt_chunksize(p))] != fb)) {
                pt_error(inst, MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(p),
                         "malloc_consolidate(): invalid chunk size");
                return;
            }
            mchunkptr nextp = PT_REVEAL_PTR(p->fd);
            size_t size = pt_chunksize(p);
            mchunkptr nextchunk = pt_chunk_at(p, size);
            size_t nextsize = pt_chunksize(nextchunk);
            if (merge_and_bin(inst, av, p, size, nextchunk, nextsize, "corrupted size vs. prev_size in fastbins",
                              NULL, hard) == 0)
                return;
            p = nextp;
        }
    }
}

static __attribute__((noinline)) void consolidate_hardened(pt_inst_t *inst, pt_arena_t *av)
{
    consolidate_body(inst, av, true);
}

void pt_malloc_consolidate(pt_inst_t *inst, pt_arena_t *av)
{
    if (PT_UNLIKELY(pt_hard(inst)))
        consolidate_hardened(inst, av);
    else
        consolidate_body(inst, av, false);
}

void pt_free_bad_chunk(pt_inst_t *inst, mchunkptr p, size_t size)
{
    if ((uintptr_t)p > (uintptr_t)-size || pt_misaligned_chunk(p))
        pt_error(inst, MALLET_ERR_INVALID_FREE, pt_chunk2mem(p), "free(): invalid pointer");
    else
        pt_error(inst, MALLET_ERR_INVALID_FREE, pt_chunk2mem(p), "free(): invalid size");
}

/* Hardened mode, under the lock: is p in the list from head on? (bounded;
 * stops at the first link that leaves the instance) */
static bool fastbin_holds(pt_inst_t *inst, pt_arena_t *av, mchunkptr head, mchunkptr p)
{
    size_t k = 0;
    for (mchunkptr c = head; c != NULL && k < av->system_mem / PT_MINSIZE; c = PT_REVEAL_PTR(c->fd), k++) {
        if (c == p)
            return true;
        if (pt_misaligned_chunk(c) || !pt_owner_of_chunk(inst, c))
            break;
    }
    return false;
}

/* "free(): invalid next size (fast)" (kept out of the inline path). Without
 * the lock system_mem may be growing under us, so decide under it, as
 * glibc does. true = reported. */
static __attribute__((noinline, cold)) bool fast_next_size_bad(pt_inst_t *inst, pt_arena_t *av, mchunkptr p,
                                                               mchunkptr next, bool have_lock)
{
    bool fail = true;
    if (!have_lock) {
        pt_lock(&av->mutex);
        fail = pt_chunksize_nomask(next) <= PT_HDR || pt_chunksize(next) >= av->system_mem;
        pt_unlock(&av->mutex);
    }
    if (fail)
        pt_error(inst, MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(p), "free(): invalid next size (fast)");
    return fail;
}

/* The tests made against the bin's head (old) before each linking try;
 * true = an error was reported and the chunk must not be linked. first:
 * the first try, when hardened mode (always under the lock here) also
 * scans the bin for a chunk carrying the fastbin key. */
static inline bool fast_head_bad(pt_inst_t *inst, pt_arena_t *av, mchunkptr old, mchunkptr p, unsigned idx,
                                 bool have_lock, bool first)
{
#ifndef MALLET_SEEDED_BUG_PT_FASTTOP /* seeded bug: no fasttop double-free check */
    if (PT_UNLIKELY(old == p)) {
        pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "double free or corruption (fasttop)");
        return true;
    }
#endif
    if (first && pt_hard(inst) && p->bk == pt_fast_key(inst) && fastbin_holds(inst, av, old, p)) {
        pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "double free or corruption (fastbin)");
        return true;
    }
    if (have_lock && old != NULL && PT_UNLIKELY(pt_fastbin_index(pt_chunksize(old)) != idx)) {
        pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(p), "invalid fastbin entry (free)");
        return true;
    }
    return false;
}

/* The threaded push: a compare-and-swap loop, the head's tests repeated on
 * every retry. Out of line so the single-threaded path needs no frame. */
static __attribute__((noinline)) void fast_push_cas(pt_inst_t *inst, pt_arena_t *av, mchunkptr *fb, mchunkptr p,
                                                    mchunkptr old, unsigned idx, bool have_lock)
{
    /* Release: p->fd is written before p is reachable. Acquire on failure:
     * under the lock the new head is read by the tests. */
    while (!__atomic_compare_exchange_n(fb, &old, p, true, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
        if (fast_head_bad(inst, av, old, p, idx, have_lock, false))
            return;
        p->fd = PT_PROTECT_PTR(&p->fd, old);
    }
}

/* The fastbin half of _int_free, glibc 2.36's way: without the arena lock
 * unless the caller holds it (have_lock). The push is a compare-and-swap
 * loop once the process has threads (a plain store before), and the head's
 * fasttop test is repeated on every try. The "invalid fastbin entry"
 * test reads the old head's size, so it runs only with the lock held:
 * without it that chunk may already have been popped and reused (pops
 * happen only under the lock). Unlike glibc every test runs before the
 * chunk is linked, so a handler that returns leaves the bin as it was. */
static inline __attribute__((always_inline)) void free_fast(pt_inst_t *inst, pt_arena_t *av, mchunkptr p,
                                                            size_t size, bool have_lock)
{
    mchunkptr next = pt_chunk_at(p, size);
    if ((PT_UNLIKELY(pt_chunksize_nomask(next) <= PT_HDR) || PT_UNLIKELY(pt_chunksize(next) >= pt_sysmem(av))) &&
        fast_next_size_bad(inst, av, p, next, have_lock))
        return;
    unsigned idx = pt_fastbin_index(size);
    mchunkptr *fb = &av->fastbinsY[idx];
    mchunkptr old = __atomic_load_n(fb, __ATOMIC_ACQUIRE);
    if ((PT_UNLIKELY(old == p) || have_lock) && fast_head_bad(inst, av, old, p, idx, have_lock, true))
        return;
    pt_free_perturb(inst, pt_chunk2mem(p), size - PT_HDR);
    pt_set_have_fastchunks(av, true);
    if (pt_hard(inst))
        p->bk = pt_fast_key(inst);
    p->fd = PT_PROTECT_PTR(&p->fd, old);
    if (pt_single_thread()) {
        __atomic_store_n(fb, p, __ATOMIC_RELEASE);
        return;
    }
    fast_push_cas(inst, av, fb, p, old, idx, have_lock);
}

static __attribute__((noinline)) void free_fast_general(pt_inst_t *inst, pt_arena_t *av, mchunkptr p, size_t size,
                                                        bool have_lock)
{
    free_fast(inst, av, p, size, have_lock);
}

/* Compat mode's fastbin free, called by pt_int_free (ptmalloc_fast.h) and
 * pt_free straight after the tcache: no lock unless the caller holds one.
 * The common case (no lock held, nothing to report, no perturb byte, the
 * first compare-and-swap wins) needs no stack frame; anything else goes to
 * free_fast_general, which runs every test in glibc's order from the start
 * (nothing has been linked yet, so starting over is safe). */
void pt_free_fast(pt_inst_t *inst, pt_arena_t *av, mchunkptr p, size_t size, bool have_lock)
{
    size_t nextword = pt_chunksize_nomask(pt_chunk_at(p, size));
    mchunkptr *fb = &av->fastbinsY[pt_fastbin_index(size)];
    mchunkptr old = __atomic_load_n(fb, __ATOMIC_ACQUIRE);
    if (PT_UNLIKELY(have_lock | pt_hard(inst) | (nextword <= PT_HDR) |
                    ((nextword & ~PT_SIZE_BITS) >= pt_sysmem(av)) | (old == p) | (inst->mp.perturb_byte != 0))) {
        free_fast_general(inst, av, p, size, have_lock);
        return;
    }
    pt_set_have_fastchunks(av, true);
    p->fd = PT_PROTECT_PTR(&p->fd, old);
    if (pt_single_thread()) {
        __atomic_store_n(fb, p, __ATOMIC_RELEASE);
        return;
    }
    /* Release: p->fd is written before p is reachable. */
    if (PT_LIKELY(__atomic_compare_exchange_n(fb, &old, p, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)))
        return;
    free_fast_general(inst, av, p, size, have_lock);
}

/* _int_free past the tcache for everything pt_free_fast does not take,
 * under the arena lock. Hardened mode's fastbin chunks come here too: its
 * top test and fastbin scan read memory a concurrent malloc could be
 * changing, so it takes the lock and checks as if have_lock (and so also
 * reports "invalid fastbin entry (free)" on a plain free). */
void pt_int_free_arena(pt_inst_t *inst, pt_arena_t *av, mchunkptr p, size_t size, pt_tcache_t *tc, bool have_lock)
{
    bool fast = size <= pt_max_fast(inst);
    /* glibc 2.36: a single-threaded process frees as if it held the lock */
    const bool lock = !have_lock && !pt_single_thread();
    if (lock)
        pt_lock(&av->mutex);

    if (pt_hard(inst) && (char *)p > (char *)av->top && (char *)p < (char *)av->top + pt_chunksize(av->top)) {
        pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "double free or corruption (top)");
        goto out;
    }

    if (fast) {
        free_fast(inst, av, p, size, true);
        goto out;
    }

    {
        mchunkptr nextchunk = pt_chunk_at(p, size);
        if (PT_UNLIKELY(p == av->top)) {
            pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "double free or corruption (top)");
            goto out;
        }
        if (pt_contiguous(av) &&
            PT_UNLIKELY((char *)nextchunk >= (char *)av->top + pt_chunksize(av->top))) {
            pt_error(inst, MALLET_ERR_INVALID_FREE, pt_chunk2mem(p), "double free or corruption (out)");
            goto out;
        }
        if (PT_UNLIKELY(!pt_prev_inuse(nextchunk))) {
            pt_error(inst, MALLET_ERR_DOUBLE_FREE, pt_chunk2mem(p), "double free or corruption (!prev)");
            goto out;
        }
        size_t nextsize = pt_chunksize(nextchunk);
        if (PT_UNLIKELY(pt_chunksize_nomask(nextchunk) <= PT_HDR) || PT_UNLIKELY(nextsize >= av->system_mem)) {
            pt_error(inst, MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(p), "free(): invalid next size (normal)");
            goto out;
        }
        pt_free_perturb(inst, pt_chunk2mem(p), size - PT_HDR);
        size = merge_and_bin(inst, av, p, size, nextchunk, nextsize,
                             "corrupted size vs. prev_size while consolidating", "free(): corrupted unsorted chunks",
                             pt_hard(inst));
        if (size == 0)
            goto out;

        /* A big free: consolidate the fastbins and give memory back. */
        if (size >= PT_FASTBIN_CONSOLIDATION_THRESHOLD) {
            if (pt_have_fastchunks(av)) {
                pt_malloc_consolidate(inst, av);
                if (inst->poisoned)
                    goto out;
            }
            if (pt_is_main(inst, av)) {
                if (pt_chunksize(av->top) >= __atomic_load_n(&inst->mp.trim_threshold, __ATOMIC_RELAXED))
                    pt_systrim(inst, inst->mp.top_pad, av);
            } else if (!pt_contiguous(av) && pt_arena_of_addr(inst, (uintptr_t)av->top) == av) {
                pt_heap_trim(inst, pt_heap_for_ptr(av->top), inst->mp.top_pad, tc);
            }
        }
    }
out:
    if (lock)
        pt_unlock(&av->mutex);
}
