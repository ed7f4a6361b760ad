/*
 * fuzz/misuse_core.c — the misuse checker behind the `misuse` target.
 *
 * The instruction stream is run as in `ops`, plus injections, each done
 * only when the zone promises to detect it:
 *   double_free   (MALLET_CAP_DETECT_DOUBLE_FREE) free a live slot, then free
 *                 it again now or 1-3 instructions later (dropped if the memory
 *                 was handed out again meanwhile); zones claiming only
 *                 MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE get only the
 *                 immediate kind, on blocks within the zone's
 *                 double_free_immediate_max; mode bit 2 = the second
 *                 call is realloc (MALLET_CAP_DETECT_INVALID_REALLOC); mode
 *                 bit 3 = first malloc and free 1-15 blocks of the same size
 *                 ("cache full": the frees then reach the layer behind the
 *                 per-thread cache, e.g. ptmalloc's fastbins once its tcache
 *                 holds 7)
 *   invalid_free  (MALLET_CAP_DETECT_INVALID_FREE) free an interior pointer
 *                 (odd or 16-aligned offset) or a static / stack address
 *   uaf_write     (MALLET_CAP_DETECT_FREELIST_CORRUPTION) write 1-8 chosen bytes
 *                 at a chosen offset of a recently freed block that no live
 *                 block overlaps (mode bit 0 aims at the first 16 bytes)
 *   overflow      (MALLET_CAP_DETECT_HEADER_CORRUPTION) write 1-8 bytes just
 *                 past a live block (<= 64 KiB) where no live block is
 * Writes go through process_vm_writev, so unmapped or read-only memory is
 * skipped instead of crashing the fuzzer.
 *
 * ptmalloc claims no MALLET_CAP_DETECT_DOUBLE_FREE (like glibc it misses a
 * double free of a chunk sitting in a fastbin once the tcache has room
 * again), only MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE: the second free()
 * right after the first, no other call in between, is reported, for
 * requests up to its fastbin limit (120 B by default): a bigger chunk whose
 * tcache bin is full can merge backwards and into top, and its second free
 * then passes glibc's checks, or is a free of unmapped memory (both found
 * by this target in the 2026-12-02 campaign; the inputs are in
 * corpora/misuse). Without that promise the target ran no injection on it
 * at all and its tcache-key and fasttop checks could be removed unnoticed
 * (fuzz/seeded_bugs.sh).
 *
 * Verdicts: a report through the error path ends the input (the zone is
 * poisoned; only destroy() is promised). A report with no injection done
 * is a false positive. Double and invalid frees must be reported; an
 * overflow that changed bytes when the zone has check() must be reported
 * by the end of the input (after a final check()); a UAF write must never
 * be followed silently (see FZ_OP_UAF_WRITE). After any injection, a later allocation overlapping a live
 * block is a "silent overlap". Each of these abort()s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_common.h"

#define RING 16

typedef struct freed { uint8_t *p; size_t usable; } freed_t;

typedef struct misuse {
    fz_run_t *r;
    freed_t ring[RING];
    unsigned nring, ring_next;
    struct { uint8_t *p; size_t usable; unsigned due; bool via_realloc; bool set; } pending;
    const char *expect;     /* injection that must be reported, or NULL */
    unsigned expect_op;
    bool tainted;           /* any injection done */
} misuse_t;

static bool mem_read(void *dst, const void *src, size_t n)
{
    struct iovec l = {dst, n}, rm = {(void *)src, n};
    return process_vm_readv(getpid(), &l, 1, &rm, 1, 0) == (ssize_t)n;
}

static bool mem_write(void *dst, const void *src, size_t n)
{
    struct iovec l = {(void *)src, n}, rm = {dst, n};
    return process_vm_writev(getpid(), &l, 1, &rm, 1, 0) == (ssize_t)n;
}

static void remember_freed(misuse_t *m, uint8_t *p, size_t usable)
{
    m->ring[m->ring_next] = (freed_t){p, usable};
    m->ring_next = (m->ring_next + 1) % RING;
    if (m->nring < RING)
        m->nring++;
}

static void expect(misuse_t *m, const char *what, unsigned op)
{
    m->tainted = true;
    if (m->expect == NULL) {
        m->expect = what;
        m->expect_op = op;
    }
}

static void second_free(misuse_t *m, uint8_t *p, size_t usable, bool via_realloc, unsigned op)
{
    fz_run_t *r = m->r;
    const char *what = via_realloc ? "realloc of a freed block" : "double free";
    if (fz_find_overlap(r, p, usable, -1) >= 0)
        return; /* handed out again: no longer a double free */
    if (via_realloc) {
        expect(m, what, op);
        void *q = mallet_realloc(r->z, p, 16);
        if (q != NULL && fz_errors.count == 0)
            fz_fail("%s: realloc(%p) of a freed block returned %p without a report", r->z->backend->id,
                    (void *)p, q);
    } else {
        expect(m, what, op);
        mallet_free(r->z, p);
    }
    if (fz_errors.count == 0)
        fz_fail("%s: %s of %p (instruction %u) not reported", r->z->backend->id, what, (void *)p, op);
}

/* Fills per-size caches in front of the free lists: without this the
 * fuzzer needed 8 same-size frees in a row to reach ptmalloc's fastbin
 * double-free check and did not find it removed in 60 s (seeded bug
 * pt_fasttop, fuzz/seeded_bugs.sh). */
static void fill_caches(fz_run_t *r, size_t n, unsigned count)
{
    void *tmp[16];
    unsigned got = 0;
    for (; got < count && got < 16; got++) {
        if ((tmp[got] = mallet_malloc(r->z, n)) == NULL)
            break;
        if (fz_find_overlap(r, tmp[got], n ? n : 1, -1) >= 0)
            fz_fail("%s: malloc(%zu) = %p overlaps a live block", r->z->backend->id, n, tmp[got]);
    }
    for (unsigned k = 0; k < got; k++)
        mallet_free(r->z, tmp[k]);
}

/* The live slot an injection acts on: the named one, else the next live
 * one after it. Without this an injection needed its slot byte to match a
 * live slot (1 in 64 for one live block), and seeded bugs behind a few
 * set-up steps (pt_fasttop) went unfound for minutes. */
static unsigned live_slot_near(const fz_run_t *r, unsigned slot)
{
    for (unsigned k = 0; k < FZ_MAX_SLOTS; k++) {
        unsigned s = (slot + k) % FZ_MAX_SLOTS;
        if (r->slot[s].p != NULL)
            return s;
    }
    return slot;
}

/* Returns true if the instruction was an injection (handled here). */
static bool inject(misuse_t *m, const fz_inst_t *in, unsigned op)
{
    fz_run_t *r = m->r;
    uint64_t caps = r->caps;
    const unsigned slot = live_slot_near(r, in->slot);
    fz_block_t *b = &r->slot[slot];
    switch (in->op) {
    case FZ_OP_DOUBLE_FREE: {
        bool via_realloc = (in->mode & 4) != 0;
        uint64_t need = via_realloc ? MALLET_CAP_DETECT_INVALID_REALLOC : MALLET_CAP_DETECT_DOUBLE_FREE;
        /* Only the immediate kind when that is all the zone promises. */
        bool now_only = !(caps & need) && !via_realloc && (caps & MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE);
        if (!((caps & need) || now_only) || b->p == NULL || m->pending.set)
            return false;
        /* The weaker promise may stop at a size (ptmalloc: its fastbin limit). */
        if (now_only && r->z->double_free_immediate_max && b->req > r->z->double_free_immediate_max)
            return false;
        uint8_t *p = b->p;
        size_t usable = b->usable;
        if (in->mode & 8)
            fill_caches(r, b->req, 1 + in->offset % 15);
        fz_free_slot(r, slot);
        remember_freed(m, p, usable);
        unsigned delay = now_only ? 0 : in->mode & 3;
        if (delay == 0)
            second_free(m, p, usable, via_realloc, op);
        else
            m->pending.p = p, m->pending.usable = usable, m->pending.due = op + delay,
            m->pending.via_realloc = via_realloc, m->pending.set = true;
        return true;
    }
    case FZ_OP_INVALID_FREE: {
        if (!(caps & MALLET_CAP_DETECT_INVALID_FREE))
            return false;
        static _Alignas(64) uint8_t not_heap[4096];
        _Alignas(64) uint8_t on_stack[256];
        uint8_t *p;
        switch (in->mode & 3) {
        case 0: /* interior, any offset */
            if (b->p == NULL || b->usable < 2)
                return false;
            p = b->p + 1 + in->offset % (b->usable - 1);
            break;
        case 1: /* interior, 16-aligned */
            if (b->p == NULL || b->usable < 32)
                return false;
            p = b->p + 16 * (1 + in->offset % (b->usable / 16 - 1));
            break;
        case 2:
            p = not_heap + 16 * (in->offset % (sizeof not_heap / 16));
            break;
        default:
            memset(on_stack, 0, sizeof on_stack);
            p = on_stack + 16 * (in->offset % (sizeof on_stack / 16));
            break;
        }
        expect(m, "invalid free", op);
        mallet_free(r->z, p);
        if (fz_errors.count == 0)
            fz_fail("%s: free(%p) (invalid free, mode %u) not reported", r->z->backend->id, (void *)p,
                    in->mode & 3);
        return true;
    }
    case FZ_OP_UAF_WRITE: {
        if (!(caps & MALLET_CAP_DETECT_FREELIST_CORRUPTION) || m->nring == 0)
            return false;
        freed_t f = m->ring[in->slot % m->nring];
        if (f.usable == 0 || fz_find_overlap(r, f.p, f.usable, -1) >= 0)
            return false;
        size_t off = (in->mode & 1) ? in->offset % (f.usable < 16 ? f.usable : 16) : in->offset % f.usable;
        size_t n = in->nbytes;
        if (off + n > f.usable)
            n = f.usable - off;
        uint8_t old[8];
        if (!mem_read(old, f.p + off, n) || !mem_write(f.p + off, in->bytes, n))
            return false;
        /* Not an expectation by itself: the freed block may sit in a
         * last-free cache, be merged into a neighbour or a free tail, or be
         * a large block with no links, so its first bytes need not be a
         * link at all. What a zone promising free-list-corruption
         * detection must never do is follow the damaged link: that shows
         * up as a silent overlap or an attacker-chosen block below (and a
         * crash is a crash). */
        (void)old;
        m->tainted = true;
        return true;
    }
    case FZ_OP_OVERFLOW: {
        if (!(caps & MALLET_CAP_DETECT_HEADER_CORRUPTION) || b->p == NULL || b->usable > 65536)
            return false;
        uint8_t *at = b->p + b->usable;
        size_t n = in->nbytes;
        if (fz_find_overlap(r, at, n, (int)slot) >= 0)
            return false;
        uint8_t old[8];
        if (!mem_read(old, at, n) || !mem_write(at, in->bytes, n))
            return false;
        if (fz_verbose)
            fprintf(stderr, "mallet-fuzz:   overflow: %zu byte(s) at %p, past slot %u (%p, %zu usable)\n", n,
                    (void *)at, slot, (void *)b->p, b->usable);
        m->tainted = true;
        if ((caps & MALLET_CAP_CHECK) && memcmp(old, in->bytes, n) != 0)
            expect(m, "overflow into the next block's header", op);
        return true;
    }
    default:
        return false;
    }
}

void fz_misuse_input(mallet_zone_t *z, const uint8_t *data, size_t size)
{
    static fz_run_t run;
    static misuse_t m;
    fz_errors_reset();
    fz_run_init(&run, z);
    run.misuse = true;
    memset(&m, 0, sizeof m);
    m.r = &run;
    fz_reader_t rd;
    fz_reader_init(&rd, data, size);
    fz_inst_t in;
    unsigned i = 0;
    for (; i < FZ_MAX_OPS && fz_decode(&rd, &in, i); i++) {
        if (m.pending.set && i >= m.pending.due) {
            m.pending.set = false;
            second_free(&m, m.pending.p, m.pending.usable, m.pending.via_realloc, i);
        }
        if (fz_errors.count)
            break;
        if (!inject(&m, &in, i)) {
            /* Plain operation. A free remembers its block for UAF writes. */
            fz_block_t before = run.slot[in.slot];
            fz_exec(&run, &in);
            if (before.p && run.slot[in.slot].p != before.p &&
                (in.op == FZ_OP_FREE || in.op == FZ_OP_FREE_DEFINITE_SIZE))
                remember_freed(&m, before.p, before.usable);
        }
        if (fz_errors.count)
            break;
    }
    if (fz_errors.count == 0 && m.expect) {
        fz_zone_check(&run, "after an injection");
        if (fz_errors.count == 0)
            fz_fail("%s: %s (instruction %u) never reported (%u instructions run)", z->backend->id,
                    m.expect, m.expect_op, i);
    }
    if (fz_errors.count && !m.tainted)
        fz_fail("%s: error report without any injected misuse", z->backend->id);
    if (fz_errors.count == 0) {
        fz_run_finish(&run); /* frees verify contents: catches silent damage */
        if (fz_errors.count && !m.tainted)
            fz_fail("%s: error report while freeing a clean heap", z->backend->id);
    }
    mallet_zone_destroy(z);
}
