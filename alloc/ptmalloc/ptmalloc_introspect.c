/*
 * ptmalloc_introspect.c — walking an instance: check(), enumerate(),
 * statistics(), mallinfo2, malloc_stats and malloc_info (§D.14).
 *
 * Every arena's chunks are walked segment by segment (the brk range and
 * any fallback segments for the main arena, each 64 MiB heap for the
 * others), from the first chunk to top or to a fencepost. A chunk whose
 * successor has PREV_INUSE clear is free and must sit in exactly one bin;
 * fastbin and tcache chunks look in use and are told apart with an
 * exclusion list built from the fastbins and every thread's tcache.
 *
 * All arena locks are held during a walk; the per-thread caches of other
 * threads are read without their owners' cooperation, so check() and
 * enumerate() expect the zone to be quiescent, as libmalloc's do.
 * Callbacks (enumerate's recorder) must not call into the zone.
 */
#include "ptmalloc/ptmalloc_arena.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- segments of an arena ------------------------------------------------------ */

typedef struct seg { char *start, *end; } seg_t;

/* Calls fn for each segment of av; stops when fn returns nonzero. */
static int for_each_segment(pt_inst_t *inst, pt_arena_t *av, int (*fn)(void *, seg_t), void *ctx)
{
    int rc;
    if (pt_is_main(inst, av)) {
        if (inst->brk_cur > inst->brk_base && (rc = fn(ctx, (seg_t){inst->brk_base, inst->brk_cur})))
            return rc;
        for (unsigned i = 0; i < inst->nsegs; i++)
            if ((rc = fn(ctx, (seg_t){inst->segs[i].base, inst->segs[i].base + inst->segs[i].len})))
                return rc;
        return 0;
    }
    for (pt_heap_info_t *h = pt_heap_for_ptr(av->top); h != NULL; h = h->prev) {
        if (!pt_heap_known(inst, (uintptr_t)h))
            return -1;
        char *start = pt_heap_chunks_start(h, h->prev == NULL);
        if ((rc = fn(ctx, (seg_t){start, (char *)h + h->size})))
            return rc;
    }
    return 0;
}

/* ---- exclusion list: chunks that look in use but are not ------------------- */

typedef struct xlist { uintptr_t *v; size_t n, cap, bytes; } xlist_t;

static void x_add(xlist_t *x, uintptr_t a)
{
    if (x->n < x->cap)
        x->v[x->n++] = a;
}

static void x_sort(xlist_t *x)
{
    /* heapsort: no allocation, O(n log n) */
    uintptr_t *a = x->v;
    size_t n = x->n;
    for (size_t k = n / 2; k-- > 0;) {
        for (size_t r = k;;) {
            size_t c = 2 * r + 1;
            if (c >= n) break;
            if (c + 1 < n && a[c + 1] > a[c]) c++;
            if (a[r] >= a[c]) break;
            uintptr_t t = a[r]; a[r] = a[c]; a[c] = t; r = c;
        }
    }
    for (size_t end = n; end-- > 1;) {
        uintptr_t t = a[0]; a[0] = a[end]; a[end] = t;
        for (size_t r = 0;;) {
            size_t c = 2 * r + 1;
            if (c >= end) break;
            if (c + 1 < end && a[c + 1] > a[c]) c++;
            if (a[r] >= a[c]) break;
            t = a[r]; a[r] = a[c]; a[c] = t; r = c;
        }
    }
}

static bool x_has(const xlist_t *x, uintptr_t a)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->v[mid] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo < x->n && x->v[lo] == a;
}

static size_t fastbin_limit(pt_arena_t *av) { return av->system_mem / PT_MINSIZE + 1; }

/* Fastbin chunks, tcache entries and tcache structs of the instance. */
static bool x_build(pt_inst_t *inst, xlist_t *x)
{
    size_t want = 64;
    for (pt_arena_t *a = &inst->main_arena; a; a = pt_arena_next(a))
        for (unsigned i = 0; i < PT_NFASTBINS; i++) {
            size_t k = 0;
            for (mchunkptr p = pt_fastbin_head(a, i); p && k < fastbin_limit(a) && pt_arena_of_addr(inst, (uintptr_t)p) == a;
                 p = PT_REVEAL_PTR(p->fd))
                k++, want++;
        }
    for (pt_tstate_t *s = inst->ts_head; s; s = s->next)
        if (s->tcache) {
            want++;
            for (unsigned i = 0; i < PT_TCACHE_MAX_BINS; i++)
                want += s->tcache->counts[i];
        }
    x->bytes = PT_ALIGN_UP(want * sizeof(uintptr_t), mallet_os_page_size());
    x->v = mallet_os_map(NULL, x->bytes, MALLET_PROT_RW);
    x->n = 0;
    x->cap = x->v ? want : 0;
    if (!x->v)
        return false;
    for (pt_arena_t *a = &inst->main_arena; a; a = pt_arena_next(a))
        for (unsigned i = 0; i < PT_NFASTBINS; i++) {
            size_t k = 0;
            for (mchunkptr p = pt_fastbin_head(a, i); p && k < fastbin_limit(a) && pt_arena_of_addr(inst, (uintptr_t)p) == a;
                 p = PT_REVEAL_PTR(p->fd), k++)
                x_add(x, (uintptr_t)p);
        }
    for (pt_tstate_t *s = inst->ts_head; s; s = s->next) {
        pt_tcache_t *tc = s->tcache;
        if (!tc)
            continue;
        x_add(x, (uintptr_t)pt_mem2chunk(tc));
        for (unsigned i = 0; i < PT_TCACHE_MAX_BINS; i++) {
            size_t k = 0;
            for (pt_tentry_t *e = tc->entries[i]; e && k < tc->counts[i] && pt_aligned_ok((uintptr_t)e);
                 e = PT_REVEAL_PTR(e->next), k++) {
                if (!pt_owner_of_chunk(inst, pt_mem2chunk(e)))
                    break;
                x_add(x, (uintptr_t)pt_mem2chunk(e));
            }
        }
    }
    x_sort(x);
    return true;
}

static void x_free(xlist_t *x)
{
    if (x->v)
        mallet_os_unmap(x->v, x->bytes);
}

/* ---- the chunk walk ---------------------------------------------------------------- */

typedef struct walk {
    pt_inst_t *inst;
    pt_arena_t *av;
    const xlist_t *x;
    /* results */
    size_t inuse_n, inuse_bytes, free_n, free_bytes, fast_n, fast_bytes;
    bool saw_top;
    /* optional per-block callback */
    void (*block)(struct walk *, mchunkptr p, size_t size);
    void *ctx;
    /* first inconsistency */
    const char *why;
    const void *where;
} walk_t;

static int bad(walk_t *w, const void *where, const char *why)
{
    w->why = why;
    w->where = where;
    return 1;
}

static int walk_segment(void *ctx, seg_t s)
{
    walk_t *w = ctx;
    pt_arena_t *av = w->av;
    mchunkptr p = (mchunkptr)s.start;
    bool first = true, prev_free = false;
    size_t prev_size = 0;
    while ((char *)p < s.end) {
        if (p == av->top) {
            size_t ts = pt_chunksize(p);
            if (!pt_prev_inuse(p) && !prev_free)
                return bad(w, p, "top has PREV_INUSE clear after an in-use chunk");
            if (prev_free && pt_prev_inuse(p))
                return bad(w, p, "a free chunk precedes top (not merged into it)");
            if (ts > (size_t)(s.end - (char *)p) || (char *)p + ts != s.end)
                return bad(w, p, "top does not end where its segment ends");
            w->saw_top = true;
            return 0;
        }
        if ((size_t)(s.end - (char *)p) < PT_HDR)
            return bad(w, p, "chunk header crosses the end of its segment");
        size_t size = pt_chunksize(p);
        if (size < PT_MINSIZE) {
            if ((size == PT_HDR || size == 0) && (size_t)(s.end - (char *)p) <= 2 * PT_MINSIZE)
                return 0; /* fencepost */
            return bad(w, p, "chunk size below MINSIZE");
        }
        if (size & PT_ALIGN_MASK)
            return bad(w, p, "chunk size not a multiple of 16");
        if (size > (size_t)(s.end - (char *)p) - PT_HDR)
            return bad(w, p, "chunk extends past the end of its segment");
        if (pt_chunk_is_mmapped(p))
            return bad(w, p, "IS_MMAPPED set on a heap chunk");
        if (first && !pt_prev_inuse(p))
            return bad(w, p, "first chunk of a segment has PREV_INUSE clear");
        if (!first && !pt_prev_inuse(p)) {
            if (!prev_free)
                return bad(w, p, "PREV_INUSE clear but the previous chunk is in use");
            if (p->prev_size != prev_size)
                return bad(w, p, "prev_size does not match the previous free chunk's size");
        }
        if (!first && pt_prev_inuse(p) && prev_free)
            return bad(w, p, "PREV_INUSE set but the previous chunk is free");
        mchunkptr next = pt_chunk_at(p, size);
        bool inuse = next == av->top ? pt_prev_inuse(next) : pt_prev_inuse(next);
        if (!inuse) {
            if (prev_free)
                return bad(w, p, "two adjacent free chunks");
            if (next->prev_size != size)
                return bad(w, p, "free chunk's footer (next prev_size) does not match its size");
            w->free_n++;
            w->free_bytes += size;
        } else if (w->x && x_has(w->x, (uintptr_t)p)) {
            w->fast_n++;
            w->fast_bytes += size;
        } else {
            w->inuse_n++;
            w->inuse_bytes += size - PT_SIZE_SZ;
            if (w->block)
                w->block(w, p, size);
        }
        prev_free = !inuse;
        prev_size = size;
        first = false;
        p = next;
    }
    return 0;
}

static int walk_arena(walk_t *w)
{
    int rc = for_each_segment(w->inst, w->av, walk_segment, w);
    if (rc < 0 && !w->why)
        return bad(w, w->av, "heap list of the arena reaches an unknown heap");
    if (!rc && w->av->top != pt_initial_top(w->av) && !w->saw_top)
        return bad(w, w->av->top, "top chunk is not inside any segment of its arena");
    return rc;
}

/* ---- check() -------------------------------------------------------------------------- */

static bool in_arena(pt_inst_t *inst, pt_arena_t *av, const void *p)
{
    return pt_owner_of_chunk(inst, (mchunkptr)p) == av;
}

static int check_bins(pt_inst_t *inst, pt_arena_t *av, walk_t *w)
{
    size_t binned = 0;
    for (unsigned i = 1; i < PT_NBINS; i++) {
        mchunkptr b = pt_bin_at(av, i);
        mchunkptr prev = b;
        size_t k = 0, last_size = SIZE_MAX;
        if (i >= 2 && b->fd != b && !(av->binmap[pt_idx2block(i)] & pt_idx2bit(i)))
            return bad(w, b, "binmap bit clear for a non-empty bin");
        for (mchunkptr p = b->fd; p != b; prev = p, p = p->fd) {
            if (!in_arena(inst, av, p) || pt_misaligned_chunk(p))
                return bad(w, p, "bin link points outside the arena");
            if (p->bk != prev)
                return bad(w, p, "bin list: bk does not point back to the previous chunk");
            size_t size = pt_chunksize(p);
            if (size < PT_MINSIZE || !in_arena(inst, av, pt_chunk_at(p, size)))
                return bad(w, p, "binned chunk has an invalid size");
            if (pt_inuse(p))
                return bad(w, p, "binned chunk is marked in use");
            if (i >= 2 && pt_bin_index(size) != i)
                return bad(w, p, "chunk is in the wrong bin for its size");
            if (i >= PT_NSMALLBINS) {
                if (size > last_size)
                    return bad(w, p, "large bin not sorted by decreasing size");
                last_size = size;
            }
            if (++k > w->free_n + 1)
                return bad(w, b, "bin list longer than the number of free chunks (cycle?)");
            binned++;
        }
        if (b->bk != prev)
            return bad(w, b, "bin head's bk is not the last chunk");
    }
    if (binned != w->free_n)
        return bad(w, av, binned < w->free_n ? "a free chunk is in no bin" : "more binned chunks than free chunks");
    for (unsigned i = 0; i < PT_NFASTBINS; i++) {
        size_t k = 0;
        for (mchunkptr p = pt_fastbin_head(av, i); p; p = PT_REVEAL_PTR(p->fd)) {
            if (pt_misaligned_chunk(p) || !in_arena(inst, av, p))
                return bad(w, p, "fastbin link points outside the arena (or is not safe-linked)");
            if (pt_fastbin_index(pt_chunksize(p)) != i)
                return bad(w, p, "fastbin chunk has the wrong size for its bin");
            if (!pt_inuse(p))
                return bad(w, p, "fastbin chunk is not marked in use");
            if (++k > fastbin_limit(av))
                return bad(w, p, "fastbin list does not end (cycle?)");
        }
    }
    return 0;
}

static int check_tcaches(pt_inst_t *inst, walk_t *w)
{
    for (pt_tstate_t *s = inst->ts_head; s; s = s->next) {
        pt_tcache_t *tc = s->tcache;
        if (!tc)
            continue;
        if (!pt_owner_of_chunk(inst, pt_mem2chunk(tc)))
            return bad(w, tc, "a thread's tcache struct lies outside the instance");
        for (unsigned i = 0; i < PT_TCACHE_MAX_BINS; i++) {
            size_t k = 0;
            for (pt_tentry_t *e = tc->entries[i]; e; e = PT_REVEAL_PTR(e->next)) {
                mchunkptr p = pt_mem2chunk(e);
                if (!pt_aligned_ok((uintptr_t)e) || !pt_owner_of_chunk(inst, p))
                    return bad(w, e, "tcache link points outside the instance (or is not safe-linked)");
                if (pt_chunksize(p) != PT_MINSIZE + i * PT_ALIGNMENT)
                    return bad(w, e, "tcache chunk has the wrong size for its bin");
                if (e->key != inst->tcache_key)
                    return bad(w, e, "tcache chunk's key was overwritten");
                if (++k > tc->counts[i])
                    return bad(w, e, "tcache bin holds more chunks than its count");
            }
            if (k != tc->counts[i])
                return bad(w, tc, "tcache bin holds fewer chunks than its count");
        }
    }
    return 0;
}

int pt_check(pt_inst_t *inst)
{
    if (inst->poisoned)
        return 0;
    walk_t w = {.inst = inst};
    int rc = 0;
    unsigned nr = 0;
    pt_lock_all(inst);
    mallet_lock(&inst->ts_lock);
    rc = check_tcaches(inst, &w);
    xlist_t x = {0};
    if (!rc && !x_build(inst, &x))
        rc = 0; /* no memory for the list: check without it */
    for (pt_arena_t *a = &inst->main_arena; a && !rc; a = pt_arena_next(a)) {
        w = (walk_t){.inst = inst, .av = a, .x = x.v ? &x : NULL};
        nr = a->nr;
        if (a->top != pt_initial_top(a)) {
            size_t ts = pt_chunksize(a->top);
            if (!in_arena(inst, a, a->top) || ts > a->system_mem || (ts < PT_MINSIZE && ts != 0) ||
                !pt_prev_inuse(a->top))
                rc = bad(&w, a->top, "top chunk header is corrupted");
        }
        if (!rc)
            rc = walk_arena(&w);
        if (!rc)
            rc = check_bins(inst, a, &w);
    }
    x_free(&x);
    mallet_unlock(&inst->ts_lock);
    pt_unlock_all(inst);
    if (rc) {
        inst->poisoned = 1;
        mallet_report(&inst->zone, "ptmalloc", MALLET_ERR_CHECK_FAILED, MALLET_STYLE_GLIBC, true, w.where,
                      "ptmalloc check: arena %u: %s (at %p)", nr, w.why, w.where);
        return 0;
    }
    return 1;
}

/* ---- statistics -------------------------------------------------------------------------- */

void pt_statistics(pt_inst_t *inst, mallet_zone_stats_t *s)
{
    size_t n = 0, bytes = 0, sys = 0;
    pt_lock_all(inst);
    mallet_lock(&inst->ts_lock);
    for (pt_arena_t *a = &inst->main_arena; a; a = pt_arena_next(a)) {
        walk_t w = {.inst = inst, .av = a};
        walk_arena(&w);
        n += w.inuse_n;
        bytes += w.inuse_bytes;
        sys += a->system_mem;
        for (unsigned i = 0; i < PT_NFASTBINS; i++) {
            size_t k = 0;
            for (mchunkptr p = pt_fastbin_head(a, i); p && k < fastbin_limit(a) && in_arena(inst, a, p);
                 p = PT_REVEAL_PTR(p->fd), k++) {
                n--;
                bytes -= pt_chunksize(p) - PT_SIZE_SZ;
            }
        }
    }
    for (pt_tstate_t *t = inst->ts_head; t; t = t->next) {
        pt_tcache_t *tc = t->tcache;
        if (!tc)
            continue;
        n--;
        bytes -= pt_chunksize(pt_mem2chunk(tc)) - PT_SIZE_SZ;
        for (unsigned i = 0; i < PT_TCACHE_MAX_BINS; i++) {
            size_t c = __atomic_load_n(&tc->counts[i], __ATOMIC_RELAXED);
            n -= c;
            bytes -= c * (PT_MINSIZE + i * PT_ALIGNMENT - PT_SIZE_SZ);
        }
    }
    mallet_unlock(&inst->ts_lock);
    mallet_lock(&inst->map_lock);
    for (size_t i = 0; i < inst->mm_cap; i++) {
        pt_mmrec_t *r = &inst->mm[i];
        if (r->chunk > 1) {
            n++;
            bytes += r->base + r->len - r->chunk - PT_HDR;
        }
    }
    mallet_unlock(&inst->map_lock);
    pt_unlock_all(inst);
    s->blocks_in_use = n;
    s->size_in_use = bytes;
    s->max_size_in_use = 0;
    s->size_allocated = sys + __atomic_load_n(&inst->mp.mmapped_mem, __ATOMIC_RELAXED);
}

/* ---- enumerate ------------------------------------------------------------------------------ */

typedef struct rec {
    void *ctx;
    mallet_range_recorder_t recorder;
    unsigned type, n;
    mallet_range_t r[256];
} rec_t;

static void rec_flush(rec_t *r)
{
    if (r->n)
        r->recorder(r->ctx, r->type, r->r, r->n);
    r->n = 0;
}

static void rec_add(rec_t *r, unsigned type, uintptr_t a, size_t len)
{
    if (r->type != type || r->n == 256) {
        rec_flush(r);
        r->type = type;
    }
    r->r[r->n++] = (mallet_range_t){a, len};
}

static void enum_block(walk_t *w, mchunkptr p, size_t size)
{
    rec_add(w->ctx, MALLET_ENUM_BLOCKS, (uintptr_t)pt_chunk2mem(p), size - PT_SIZE_SZ);
}

int pt_enumerate(pt_inst_t *inst, unsigned mask, void *ctx, mallet_range_recorder_t recorder)
{
    rec_t r = {.ctx = ctx, .recorder = recorder};
    pt_lock_all(inst);
    mallet_lock(&inst->ts_lock);
    if (mask & MALLET_ENUM_BLOCKS) {
        xlist_t x = {0};
        x_build(inst, &x);
        for (pt_arena_t *a = &inst->main_arena; a; a = pt_arena_next(a)) {
            walk_t w = {.inst = inst, .av = a, .x = x.v ? &x : NULL, .block = enum_block, .ctx = &r};
            walk_arena(&w);
        }
        x_free(&x);
        mallet_lock(&inst->map_lock);
        for (size_t i = 0; i < inst->mm_cap; i++)
            if (inst->mm[i].chunk > 1)
                rec_add(&r, MALLET_ENUM_BLOCKS, inst->mm[i].chunk + PT_HDR,
                        inst->mm[i].base + inst->mm[i].len - inst->mm[i].chunk - PT_HDR);
        mallet_unlock(&inst->map_lock);
    }
    if (mask & MALLET_ENUM_REGIONS) {
        if (inst->brk_cur > inst->brk_base)
            rec_add(&r, MALLET_ENUM_REGIONS, (uintptr_t)inst->brk_base, (size_t)(inst->brk_cur - inst->brk_base));
        for (unsigned i = 0; i < inst->nsegs; i++)
            rec_add(&r, MALLET_ENUM_REGIONS, (uintptr_t)inst->segs[i].base, inst->segs[i].len);
        for (size_t i = 0; i < PT_HEAP_SLOTS; i++)
            if (inst->heaps[i] > 1)
                rec_add(&r, MALLET_ENUM_REGIONS, inst->heaps[i], ((pt_heap_info_t *)inst->heaps[i])->size);
        for (size_t i = 0; i < inst->mm_cap; i++)
            if (inst->mm[i].chunk > 1)
                rec_add(&r, MALLET_ENUM_REGIONS, inst->mm[i].base, inst->mm[i].len);
    }
    if (mask & MALLET_ENUM_ADMIN) {
        rec_add(&r, MALLET_ENUM_ADMIN, (uintptr_t)inst, sizeof *inst);
        for (pt_arena_t *a = pt_arena_next(&inst->main_arena); a; a = pt_arena_next(a)) {
            rec_add(&r, MALLET_ENUM_ADMIN, (uintptr_t)a, sizeof *a);
            rec_add(&r, MALLET_ENUM_ADMIN, (uintptr_t)a->first_heap,
                    (size_t)(pt_heap_chunks_start(a->first_heap, true) - (char *)a->first_heap));
        }
        for (pt_tstate_t *t = inst->ts_head; t; t = t->next)
            if (t->tcache)
                rec_add(&r, MALLET_ENUM_ADMIN, (uintptr_t)t->tcache, sizeof(pt_tcache_t));
        if (inst->mm)
            rec_add(&r, MALLET_ENUM_ADMIN, (uintptr_t)inst->mm, inst->mm_cap * sizeof(pt_mmrec_t));
    }
    rec_flush(&r);
    mallet_unlock(&inst->ts_lock);
    pt_unlock_all(inst);
    return 0;
}

/* ---- mallinfo2, malloc_stats, malloc_info ------------------------------------------------ */

static void int_mallinfo(pt_inst_t *inst, pt_arena_t *av, struct mallinfo2 *m)
{
    size_t avail = pt_chunksize(av->top), nblocks = 1, nfastblocks = 0, fastavail = 0;
    for (unsigned i = 0; i < PT_NFASTBINS; i++)
        for (mchunkptr p = pt_fastbin_head(av, i); p; p = PT_REVEAL_PTR(p->fd)) {
            if (pt_misaligned_chunk(p)) {
                pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, p, "int_mallinfo(): unaligned fastbin chunk detected");
                return;
            }
            ++nfastblocks;
            fastavail += pt_chunksize(p);
        }
    avail += fastavail;
    for (unsigned i = 1; i < PT_NBINS; ++i) {
        mchunkptr b = pt_bin_at(av, i);
        for (mchunkptr p = pt_last(b); p != b; p = p->bk) {
            ++nblocks;
            avail += pt_chunksize(p);
        }
    }
    m->smblks += nfastblocks;
    m->ordblks += nblocks;
    m->fordblks += avail;
    m->uordblks += av->system_mem - avail;
    m->arena += av->system_mem;
    m->fsmblks += fastavail;
    if (pt_is_main(inst, av)) {
        m->hblks = (size_t)inst->mp.n_mmaps;
        m->hblkhd = inst->mp.mmapped_mem;
        m->usmblks = 0;
        m->keepcost = pt_chunksize(av->top);
    }
}

void pt_mallinfo2(pt_inst_t *inst, struct mallinfo2 *m)
{
    memset(m, 0, sizeof *m);
    for (pt_arena_t *a = &inst->main_arena; a && !inst->poisoned; a = pt_arena_next(a)) {
        pt_lock(&a->mutex);
        int_mallinfo(inst, a, m);
        pt_unlock(&a->mutex);
    }
}

void pt_malloc_stats(pt_inst_t *inst, int fd)
{
    size_t system_b = 0, in_use_b = 0;
    unsigned i = 0;
    for (pt_arena_t *a = &inst->main_arena; a && !inst->poisoned; a = pt_arena_next(a), i++) {
        struct mallinfo2 mi;
        memset(&mi, 0, sizeof mi);
        pt_lock(&a->mutex);
        int_mallinfo(inst, a, &mi);
        pt_unlock(&a->mutex);
        mallet_os_printf(fd, "Arena %u:\n", i);
        mallet_os_printf(fd, "system bytes     = %10u\n", (unsigned)mi.arena);
        mallet_os_printf(fd, "in use bytes     = %10u\n", (unsigned)mi.uordblks);
        system_b += mi.arena;
        in_use_b += mi.uordblks;
    }
    system_b += inst->mp.mmapped_mem;
    in_use_b += inst->mp.mmapped_mem;
    mallet_os_printf(fd, "Total (incl. mmap):\n");
    mallet_os_printf(fd, "system bytes     = %10u\n", (unsigned)system_b);
    mallet_os_printf(fd, "in use bytes     = %10u\n", (unsigned)in_use_b);
    mallet_os_printf(fd, "max mmap regions = %10u\n", (unsigned)inst->mp.max_n_mmaps);
    mallet_os_printf(fd, "max mmap bytes   = %10lu\n", (unsigned long)inst->mp.max_mmapped_mem);
}

int pt_malloc_info(pt_inst_t *inst, int options, void *vfp)
{
    FILE *fp = vfp;
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    size_t total_nblocks = 0, total_nfastblocks = 0, total_avail = 0, total_fastavail = 0;
    size_t total_system = 0, total_max_system = 0, total_aspace = 0, total_aspace_mprotect = 0;
    fputs("<malloc version=\"1\">\n", fp);
    for (pt_arena_t *ar = &inst->main_arena; ar; ar = pt_arena_next(ar)) {
        struct { size_t from, to, total, count; } sizes[PT_NFASTBINS + PT_NBINS - 1];
        size_t nblocks = 0, nfastblocks = 0, avail = 0, fastavail = 0, heap_size = 0, heap_mprotect_size = 0,
               heap_count = 0;
        memset(sizes, 0, sizeof sizes);
        pt_lock(&ar->mutex);
        for (unsigned i = 0; i < PT_NFASTBINS; ++i) {
            size_t nthis = 0, thissize = 0;
            for (mchunkptr p = pt_fastbin_head(ar, i); p; p = PT_REVEAL_PTR(p->fd)) {
                if (pt_misaligned_chunk(p)) {
                    pt_unlock(&ar->mutex);
                    pt_error(inst, MALLET_ERR_FREELIST_CORRUPTION, p, "__malloc_info(): unaligned fastbin chunk detected");
                    return -1;
                }
                ++nthis;
                thissize = pt_chunksize(p);
            }
            fastavail += nthis * thissize;
            nfastblocks += nthis;
            sizes[i].from = thissize - (PT_ALIGNMENT - 1);
            sizes[i].to = thissize;
            sizes[i].count = nthis;
            sizes[i].total = nthis * thissize;
        }
        for (unsigned i = 1; i < PT_NBINS; ++i) {
            mchunkptr bin = pt_bin_at(ar, i);
            unsigned k = PT_NFASTBINS - 1 + i;
            sizes[k].from = ~(size_t)0;
            for (mchunkptr r = bin->fd; r && r != bin; r = r->fd) {
                size_t r_size = pt_chunksize(r);
                ++sizes[k].count;
                sizes[k].total += r_size;
                if (r_size < sizes[k].from) sizes[k].from = r_size;
                if (r_size > sizes[k].to) sizes[k].to = r_size;
            }
            if (sizes[k].count == 0)
                sizes[k].from = 0;
            nblocks += sizes[k].count;
            avail += sizes[k].total;
        }
        size_t sys = ar->system_mem, maxsys = ar->max_system_mem;
        if (!pt_is_main(inst, ar)) {
            for (pt_heap_info_t *h = pt_heap_for_ptr(ar->top); h; h = h->prev) {
                heap_size += h->size;
                heap_mprotect_size += h->mprotect_size;
                heap_count++;
            }
        }
        pt_unlock(&ar->mutex);
        total_nfastblocks += nfastblocks;
        total_fastavail += fastavail;
        total_nblocks += nblocks;
        total_avail += avail;
        fprintf(fp, "<heap nr=\"%u\">\n<sizes>\n", ar->nr);
        for (unsigned i = 0; i < PT_NFASTBINS; ++i)
            if (sizes[i].count != 0)
                fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", sizes[i].from,
                        sizes[i].to, sizes[i].total, sizes[i].count);
        for (unsigned i = PT_NFASTBINS; i < PT_NFASTBINS + PT_NBINS - 1; ++i)
            if (sizes[i].count != 0 && i != PT_NFASTBINS)
                fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n", sizes[i].from,
                        sizes[i].to, sizes[i].total, sizes[i].count);
        if (sizes[PT_NFASTBINS].count != 0)
            fprintf(fp, "  <unsorted from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
                    sizes[PT_NFASTBINS].from, sizes[PT_NFASTBINS].to, sizes[PT_NFASTBINS].total,
                    sizes[PT_NFASTBINS].count);
        total_system += sys;
        total_max_system += maxsys;
        fprintf(fp,
                "</sizes>\n<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n"
                "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n",
                nfastblocks, fastavail, nblocks, avail, sys, maxsys);
        if (!pt_is_main(inst, ar)) {
            fprintf(fp,
                    "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                    "<aspace type=\"subheaps\" size=\"%zu\"/>\n",
                    heap_size, heap_mprotect_size, heap_count);
            total_aspace += heap_size;
            total_aspace_mprotect += heap_mprotect_size;
        } else {
            fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n<aspace type=\"mprotect\" size=\"%zu\"/>\n", sys,
                    sys);
            total_aspace += sys;
            total_aspace_mprotect += sys;
        }
        fputs("</heap>\n", fp);
    }
    fprintf(fp,
            "<total type=\"fast\" count=\"%zu\" size=\"%zu\"/>\n<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
            "<total type=\"mmap\" count=\"%d\" size=\"%zu\"/>\n<system type=\"current\" size=\"%zu\"/>\n"
            "<system type=\"max\" size=\"%zu\"/>\n<aspace type=\"total\" size=\"%zu\"/>\n"
            "<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
            total_nfastblocks, total_fastavail, total_nblocks, total_avail, inst->mp.n_mmaps, inst->mp.mmapped_mem,
            total_system, total_max_system, total_aspace, total_aspace_mprotect);
    return 0;
}

/* ---- print ------------------------------------------------------------------------------------ */

void pt_print(pt_inst_t *inst, int fd, bool verbose)
{
    mallet_zone_stats_t s = {0};
    pt_statistics(inst, &s);
    mallet_os_printf(fd, "ptmalloc zone %s: %zu blocks, %zu bytes in use, %zu bytes from the OS, %zu arenas, "
                     "%d mmapped chunks, mmap_threshold %zu%s\n",
                     inst->name, s.blocks_in_use, s.size_in_use, s.size_allocated, inst->narenas, inst->mp.n_mmaps,
                     inst->mp.mmap_threshold, inst->poisoned ? " (poisoned)" : "");
    if (verbose)
        pt_malloc_stats(inst, fd);
}
