/*
 * ptmalloc_malloc.c — _int_malloc, the arena allocation path
 * (ALLOCATOR_REFERENCE.md §D.4–§D.6), called with the arena locked.
 *
 * Order of search, as glibc 2.36:
 *   1. fastbin of exactly nb (LIFO), stashing same-size chunks into the tcache;
 *   2. small bin of exactly nb (FIFO: take the tail), stashing likewise;
 *      a large request first consolidates the fastbins;
 *   3. the unsorted list, oldest first: the last_remainder rule for small
 *      requests, exact fits (to the tcache while it has room), everything
 *      else sorted into its bin (large bins keep the nextsize skip list);
 *      at most MAX_ITERS chunks per pass;
 *   4. a large request: best fit in its own large bin (second chunk of the
 *      chosen size, so the skip list needs no repair);
 *   5. the binmap: the smallest non-empty larger bin, split;
 *   6. the top chunk, else consolidate and retry, else sysmalloc.
 * Fastbins are popped under the arena lock but pushed without it by free
 * (as glibc 2.36), so a threaded pop swaps the head with a CAS; the checks
 * and their messages are glibc's.
 */
#include "ptmalloc/ptmalloc_arena.h"

#define FAIL(kind, ptr, msg)                       \
    do {                                           \
        pt_error(inst, (kind), (ptr), (msg));      \
        return NULL;                               \
    } while (0)

void pt_perturb_fill(void *p, int byte, size_t n)
{
    memset(p, byte, n);
}

static inline __attribute__((always_inline)) void *done(pt_inst_t *inst, mchunkptr victim, size_t bytes)
{
    void *p = pt_chunk2mem(victim);
    pt_alloc_perturb(inst, p, bytes);
    return p;
}

/* Split victim (already unlinked) for nb; the remainder goes to the head
 * of the unsorted list. */
static inline __attribute__((always_inline)) void *split_to_unsorted(pt_inst_t *inst, pt_arena_t *av, mchunkptr victim,
                                                                     size_t size, size_t nb, size_t bytes,
                                                                     const char *corrupt_msg, bool set_last_remainder)
{
    size_t remainder_size = size - nb;
    if (remainder_size < PT_MINSIZE) {
        pt_set_inuse_at(victim, size);
        pt_size_or(victim, pt_arena_bit(inst, av));
    } else {
        mchunkptr remainder = pt_chunk_at(victim, nb);
        mchunkptr bck = pt_unsorted_chunks(av);
        mchunkptr fwd = bck->fd;
        if (PT_UNLIKELY(fwd->bk != bck))
            FAIL(MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim), corrupt_msg);
        remainder->bk = bck;
        remainder->fd = fwd;
        bck->fd = remainder;
        fwd->bk = remainder;
        if (set_last_remainder)
            av->last_remainder = remainder;
        if (!pt_in_smallbin_range(remainder_size)) {
            remainder->fd_nextsize = NULL;
            remainder->bk_nextsize = NULL;
        }
        pt_set_head(victim, nb | PT_PREV_INUSE | pt_arena_bit(inst, av));
        pt_set_head(remainder, remainder_size | PT_PREV_INUSE);
        pt_set_foot(remainder, remainder_size);
    }
    return done(inst, victim, bytes);
}

/* Pop the head of fastbin *fb; the caller holds the arena lock, so no
 * other thread pops, but frees push without it (ptmalloc_free.c). Like
 * glibc, a single-threaded process takes the next link as it is (a bad
 * one is caught as the new head: "...detected 2" / "3") with a plain
 * store; a threaded one checks the link and swaps the head in with a
 * compare-and-swap, retrying on the chunk a concurrent free just pushed
 * (glibc's REMOVE_FB). Returns the chunk taken, NULL if the bin was empty
 * or after an error (*err). */
static inline __attribute__((always_inline)) mchunkptr fastbin_pop(pt_inst_t *inst, mchunkptr *fb, mchunkptr victim,
                                                                    bool *err, const bool hard)
{
    const bool single = pt_single_thread();
    for (;;) {
        mchunkptr next = PT_REVEAL_PTR(victim->fd);
        if (!single && PT_UNLIKELY(next != NULL && pt_misaligned_chunk(next))) {
            pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, next, "malloc(): unaligned fastbin chunk detected");
            *err = true;
            return NULL;
        }
        if (hard && next != NULL && !pt_misaligned_chunk(next) && !pt_owner_of_chunk(inst, next)) {
            pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, next, "malloc(): corrupted fastbin entry (hardened)");
            *err = true;
            return NULL;
        }
        if (single) {
            __atomic_store_n(fb, next, __ATOMIC_RELAXED);
            break;
        }
        /* Acquire on failure: the chunk pushed meanwhile is read next. */
        if (__atomic_compare_exchange_n(fb, &victim, next, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            break;
        if (victim == NULL)
            return NULL;
    }
    if (hard)
        victim->bk = NULL; /* drop the fastbin key */
    return victim;
}

/* Sort an unsorted chunk into its bin (step 3d). false after an error. */
static inline __attribute__((always_inline)) bool bin_chunk(pt_inst_t *inst, pt_arena_t *av, mchunkptr victim,
                                                            size_t size)
{
    unsigned victim_index;
    mchunkptr bck, fwd;
    if (pt_in_smallbin_range(size)) {
        victim_index = pt_smallbin_index(size);
        bck = pt_bin_at(av, victim_index);
        fwd = bck->fd;
    } else {
        victim_index = pt_largebin_index(size);
        bck = pt_bin_at(av, victim_index);
        fwd = bck->fd;
        if (fwd != bck) {
            /* PREV_INUSE is always set on binned chunks: compare with it. */
            size |= PT_PREV_INUSE;
            if (size < pt_chunksize_nomask(bck->bk)) {
                /* smaller than all: the tail, and a new skip-list member */
                fwd = bck;
                bck = bck->bk;
                victim->fd_nextsize = fwd->fd;
                victim->bk_nextsize = fwd->fd->bk_nextsize;
                fwd->fd->bk_nextsize = victim->bk_nextsize->fd_nextsize = victim;
            } else {
                while (size < pt_chunksize_nomask(fwd))
                    fwd = fwd->fd_nextsize;
                if (size == pt_chunksize_nomask(fwd)) {
                    fwd = fwd->fd; /* same size: insert second, skip list untouched */
                } else {
                    victim->fd_nextsize = fwd;
                    victim->bk_nextsize = fwd->bk_nextsize;
                    if (PT_UNLIKELY(fwd->bk_nextsize->fd_nextsize != fwd)) {
                        pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim),
                                 "malloc(): largebin double linked list corrupted (nextsize)");
                        return false;
                    }
                    fwd->bk_nextsize = victim;
                    victim->bk_nextsize->fd_nextsize = victim;
                }
                bck = fwd->bk;
                if (PT_UNLIKELY(bck->fd != fwd)) {
                    pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim),
                             "malloc(): largebin double linked list corrupted (bk)");
                    return false;
                }
            }
        } else {
            victim->fd_nextsize = victim->bk_nextsize = victim;
        }
    }
    pt_mark_bin(av, victim_index);
    victim->bk = bck;
    victim->fd = fwd;
    fwd->bk = victim;
    bck->fd = victim;
    return true;
}

/* The whole of _int_malloc. hard is a compile-time constant at each of the
 * two uses below, so compat mode's copy carries none of hardened mode's
 * tests (results/2026-12-02_ptmalloc_perf5). */
static inline __attribute__((always_inline)) void *int_malloc_body(pt_inst_t *inst, pt_arena_t *av, size_t bytes,
                                                                   pt_tcache_t *tc, const bool hard)
{
    size_t nb = pt_checked_request2size(bytes);
    if (nb == 0) {
        errno = ENOMEM;
        return NULL;
    }
    if (inst->poisoned)
        return NULL;
    if (av == NULL) {
        void *p = pt_sysmalloc(inst, nb, NULL, tc);
        if (p)
            pt_alloc_perturb(inst, p, bytes);
        return p;
    }

    const size_t tc_idx = pt_csize2tidx(nb);
    const bool use_tc = tc != NULL && tc_idx < inst->mp.tcache_bins;
    unsigned idx;
    mchunkptr victim;

    /* 1. fastbins */
    if (nb <= pt_max_fast(inst)) {
        idx = pt_fastbin_index(nb);
        mchunkptr *fb = &av->fastbinsY[idx];
        victim = pt_fastbin_head(av, idx);
        bool err = false;
        if (victim != NULL && PT_UNLIKELY(pt_misaligned_chunk(victim)))
            FAIL(MALLET_ERR_FREELIST_CORRUPTION, victim, "malloc(): unaligned fastbin chunk detected 2");
        if (victim != NULL && (victim = fastbin_pop(inst, fb, victim, &err, hard)) == NULL && err)
            return NULL;
        if (victim != NULL) {
            if (PT_UNLIKELY(pt_fastbin_index(pt_chunksize(victim)) != idx))
                FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim), "malloc(): memory corruption (fast)");
            if (use_tc) {
                mchunkptr tc_victim;
                while (tc->counts[tc_idx] < inst->mp.tcache_count && (tc_victim = pt_fastbin_head(av, idx)) != NULL) {
                    if (PT_UNLIKELY(pt_misaligned_chunk(tc_victim)))
                        FAIL(MALLET_ERR_FREELIST_CORRUPTION, tc_victim,
                             "malloc(): unaligned fastbin chunk detected 3");
                    if ((tc_victim = fastbin_pop(inst, fb, tc_victim, &err, hard)) == NULL) {
                        if (err)
                            return NULL;
                        break;
                    }
                    pt_tcache_put(inst, tc, tc_victim, tc_idx);
                }
            }
            return done(inst, victim, bytes);
        }
    }

    /* 2. small bins; a large request consolidates the fastbins first */
    if (pt_in_smallbin_range(nb)) {
        idx = pt_smallbin_index(nb);
        mchunkptr bin = pt_bin_at(av, idx);
        if ((victim = pt_last(bin)) != bin) {
            if (hard && (!pt_link_ok(inst, av, victim) || !pt_link_ok(inst, av, victim->bk)))
                FAIL(MALLET_ERR_FREELIST_CORRUPTION, victim, "malloc(): smallbin double linked list corrupted");
            mchunkptr bck = victim->bk;
            if (PT_UNLIKELY(bck->fd != victim))
                FAIL(MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim),
                     "malloc(): smallbin double linked list corrupted");
            pt_set_inuse_at(victim, nb);
            bin->bk = bck;
            bck->fd = bin;
            pt_size_or(victim, pt_arena_bit(inst, av));
            if (use_tc) {
                mchunkptr tc_victim;
                while (tc->counts[tc_idx] < inst->mp.tcache_count && (tc_victim = pt_last(bin)) != bin) {
                    bck = tc_victim->bk;
                    pt_set_inuse_at(tc_victim, nb);
                    pt_size_or(tc_victim, pt_arena_bit(inst, av));
                    bin->bk = bck;
                    bck->fd = bin;
                    pt_tcache_put(inst, tc, tc_victim, tc_idx);
                }
            }
            return done(inst, victim, bytes);
        }
    } else {
        idx = pt_largebin_index(nb);
        if (pt_have_fastchunks(av)) {
            pt_malloc_consolidate(inst, av);
            if (inst->poisoned)
                return NULL;
        }
    }

    size_t tcache_nb = use_tc ? nb : 0;
    int return_cached = 0;
    size_t tcache_unsorted_count = 0;

    for (;;) {
        /* 3. the unsorted list, oldest (tail) first */
        int iters = 0;
        while ((victim = pt_unsorted_chunks(av)->bk) != pt_unsorted_chunks(av)) {
            if (hard && (!pt_link_ok(inst, av, victim) || !pt_link_ok(inst, av, victim->bk)))
                FAIL(MALLET_ERR_FREELIST_CORRUPTION, victim, "malloc(): unsorted double linked list corrupted");
            mchunkptr bck = victim->bk;
            size_t size = pt_chunksize(victim);
            mchunkptr next = pt_chunk_at(victim, size);

            if (PT_UNLIKELY(size <= PT_HDR) || PT_UNLIKELY(size > av->system_mem))
                FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim), "malloc(): invalid size (unsorted)");
            if (PT_UNLIKELY(pt_chunksize_nomask(next) < PT_HDR) ||
                PT_UNLIKELY(pt_chunksize_nomask(next) > av->system_mem))
                FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim),
                     "malloc(): invalid next size (unsorted)");
            if (PT_UNLIKELY((next->prev_size & ~PT_SIZE_BITS) != size))
                FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim),
                     "malloc(): mismatching next->prev_size (unsorted)");
            if (PT_UNLIKELY(bck->fd != victim) || PT_UNLIKELY(victim->fd != pt_unsorted_chunks(av)))
                FAIL(MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim),
                     "malloc(): unsorted double linked list corrupted");
            if (PT_UNLIKELY(pt_prev_inuse(next)))
                FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim),
                     "malloc(): invalid next->prev_inuse (unsorted)");

            /* 3a. last_remainder rule: keeps runs of small requests local */
            if (pt_in_smallbin_range(nb) && bck == pt_unsorted_chunks(av) && victim == av->last_remainder &&
                size > nb + PT_MINSIZE) {
                size_t remainder_size = size - nb;
                mchunkptr remainder = pt_chunk_at(victim, nb);
                pt_unsorted_chunks(av)->bk = pt_unsorted_chunks(av)->fd = remainder;
                av->last_remainder = remainder;
                remainder->bk = remainder->fd = pt_unsorted_chunks(av);
                if (!pt_in_smallbin_range(remainder_size)) {
                    remainder->fd_nextsize = NULL;
                    remainder->bk_nextsize = NULL;
                }
                pt_set_head(victim, nb | PT_PREV_INUSE | pt_arena_bit(inst, av));
                pt_set_head(remainder, remainder_size | PT_PREV_INUSE);
                pt_set_foot(remainder, remainder_size);
                return done(inst, victim, bytes);
            }

            /* 3b. take it off the unsorted list */
            if (PT_UNLIKELY(bck->fd != victim))
                FAIL(MALLET_ERR_FREELIST_CORRUPTION, pt_chunk2mem(victim), "malloc(): corrupted unsorted chunks 3");
            pt_unsorted_chunks(av)->bk = bck;
            bck->fd = pt_unsorted_chunks(av);

            /* 3c. exact fit: fill the tcache first, then return */
            if (size == nb) {
                pt_set_inuse_at(victim, size);
                pt_size_or(victim, pt_arena_bit(inst, av));
                if (tcache_nb && tc->counts[tc_idx] < inst->mp.tcache_count) {
                    pt_tcache_put(inst, tc, victim, tc_idx);
                    return_cached = 1;
                    continue;
                }
                return done(inst, victim, bytes);
            }

            /* 3d. sort into its bin */
            if (!bin_chunk(inst, av, victim, size))
                return NULL;

            /* 3e. enough cached: stop sorting */
            ++tcache_unsorted_count;
            if (return_cached && inst->mp.tcache_unsorted_limit > 0 &&
                tcache_unsorted_count > inst->mp.tcache_unsorted_limit)
                return pt_tcache_get(inst, tc, tc_idx);
            if (++iters >= PT_MAX_ITERS)
                break;
        }

        if (return_cached)
            return pt_tcache_get(inst, tc, tc_idx);

        /* 4. large request: best fit from its own bin */
        if (!pt_in_smallbin_range(nb)) {
            mchunkptr bin = pt_bin_at(av, idx);
            if ((victim = pt_first(bin)) != bin && pt_chunksize_nomask(victim) >= nb) {
                size_t size;
                victim = victim->bk_nextsize;
                while ((size = pt_chunksize(victim)) < nb)
                    victim = victim->bk_nextsize;
                /* take the second of equal-size chunks: no skip-list repair */
                if (victim != pt_last(bin) && pt_chunksize_nomask(victim) == pt_chunksize_nomask(victim->fd))
                    victim = victim->fd;
                if (!pt_unlink_chunk(inst, av, victim))
                    return NULL;
                return split_to_unsorted(inst, av, victim, size, nb, bytes, "malloc(): corrupted unsorted chunks",
                                         false);
            }
        }

        /* 5. binmap: the next larger non-empty bin */
        ++idx;
        mchunkptr bin = pt_bin_at(av, idx);
        unsigned block = pt_idx2block(idx);
        unsigned map = av->binmap[block];
        unsigned bit = pt_idx2bit(idx);
        for (;;) {
            if (bit > map || bit == 0) {
                do {
                    if (++block >= PT_BINMAPSIZE)
                        goto use_top;
                } while ((map = av->binmap[block]) == 0);
                bin = pt_bin_at(av, (block << PT_BINMAPSHIFT));
                bit = 1;
            }
            while ((bit & map) == 0) {
                bin = pt_next_bin(bin);
                bit <<= 1;
            }
            victim = pt_last(bin);
            if (victim == bin) {
                /* stale bit: clear it lazily and go on */
                av->binmap[block] = map &= ~bit;
                bin = pt_next_bin(bin);
                bit <<= 1;
            } else {
                size_t size = pt_chunksize(victim);
                if (!pt_unlink_chunk(inst, av, victim))
                    return NULL;
                return split_to_unsorted(inst, av, victim, size, nb, bytes, "malloc(): corrupted unsorted chunks 2",
                                         pt_in_smallbin_range(nb));
            }
        }

    use_top:
        /* 6. the top chunk */
        victim = av->top;
        size_t size = pt_chunksize(victim);
        if (PT_UNLIKELY(size > av->system_mem))
            FAIL(MALLET_ERR_HEADER_CORRUPTION, pt_chunk2mem(victim), "malloc(): corrupted top size");
        if (size >= nb + PT_MINSIZE) {
            size_t remainder_size = size - nb;
            mchunkptr remainder = pt_chunk_at(victim, nb);
            av->top = remainder;
            pt_set_head(victim, nb | PT_PREV_INUSE | pt_arena_bit(inst, av));
            pt_set_head(remainder, remainder_size | PT_PREV_INUSE);
            return done(inst, victim, bytes);
        } else if (pt_have_fastchunks(av)) {
            pt_malloc_consolidate(inst, av);
            if (inst->poisoned)
                return NULL;
            idx = pt_in_smallbin_range(nb) ? pt_smallbin_index(nb) : pt_largebin_index(nb);
        } else {
            void *p = pt_sysmalloc(inst, nb, av, tc);
            if (p != NULL)
                pt_alloc_perturb(inst, p, bytes);
            return p;
        }
    }
}

static __attribute__((noinline)) void *int_malloc_hardened(pt_inst_t *inst, pt_arena_t *av, size_t bytes,
                                                           pt_tcache_t *tc)
{
    return int_malloc_body(inst, av, bytes, tc, true);
}

void *pt_int_malloc(pt_inst_t *inst, pt_arena_t *av, size_t bytes, pt_tcache_t *tc)
{
    if (PT_UNLIKELY(pt_hard(inst)))
        return int_malloc_hardened(inst, av, bytes, tc);
    return int_malloc_body(inst, av, bytes, tc, false);
}
