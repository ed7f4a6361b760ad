/*
 * ptmalloc_sysmalloc.c — getting memory from the OS and giving it back
 * (ALLOCATOR_REFERENCE.md §D.9, §D.10): sysmalloc, the emulated brk, the
 * 64 MiB heaps of non-main arenas, mmapped chunks, systrim, heap_trim and
 * malloc_trim.
 *
 * The main arena does NOT use the real sbrk: the process's own malloc
 * (glibc) owns the program break, and several mallet instances must not
 * share one. Each instance instead reserves one large PROT_NONE range
 * (ptmalloc.brk_reserve, default 64 GiB, MAP_NORESERVE) at creation and
 * moves an emulated "break" inside it: growing makes pages read/write with
 * mallet_os_protect, shrinking drops them (MADV_DONTNEED; hardened mode
 * also protects them again, see pt_sbrk). So the main arena is contiguous exactly as glibc's is, sbrk(0)
 * comparisons in systrim keep their meaning, and memory past the highest
 * break ever reached is known to be zero (calloc relies on that). When the
 * range is exhausted sysmalloc falls back to mmap'ed segments and marks
 * the arena non-contiguous, as glibc does when sbrk fails.
 *
 * The break starts at a random page in the first 32 MiB of the range, as
 * Linux's brk randomisation (randomize_va_space=2) places a process's
 * heap. Without it the range would start on a 2 MiB boundary (the kernel
 * aligns big anonymous mappings for THP), so address bits 12..20 of early
 * chunks would be zero — and safe-linking (PROTECT_PTR xors in bits 12 and
 * up of the link's address) would leave a planted pointer's low bits
 * unchanged: a use-after-free write of an aligned pointer would then pass
 * tcache_get's alignment check, which in glibc it fails 15 times in 16.
 */
#include "ptmalloc/ptmalloc_arena.h"

#define PT_MMAP_AS_MORECORE_SIZE ((size_t)1024 * 1024)

static const char assert_sysmalloc[] =
    "Fatal glibc error: malloc assertion failure in sysmalloc: (old_top == initial_top (av) && "
    "old_size == 0) || ((unsigned long) (old_size) >= MINSIZE && prev_inuse (old_top) && "
    "((unsigned long) old_end & (pagesize - 1)) == 0)";

/* ---- emulated brk ------------------------------------------------------------ */

#define PT_BRK_SLIDE ((size_t)32 << 20) /* x86_64 arch_randomize_brk range */

int pt_brk_init(pt_inst_t *inst, size_t reserve)
{
    size_t pagesize = mallet_os_page_size();
    reserve = PT_ALIGN_UP(reserve, pagesize);
    size_t len = reserve + PT_BRK_SLIDE;
    char *map = mallet_os_map(NULL, len, MALLET_PROT_NONE);
    if (map == NULL)
        return errno ? errno : ENOMEM;
    mallet_os_name_mapping(map, len, "mallet-ptmalloc-brk");
    size_t slide = (size_t)(mallet_os_random64() % (PT_BRK_SLIDE / pagesize)) * pagesize;
    inst->brk_map = map;
    inst->brk_map_len = len;
    inst->brk_base = inst->brk_cur = inst->brk_rw_end = map + slide;
    inst->brk_end = inst->brk_base + reserve;
    return 0;
}

/* sbrk(incr): the old break, or NULL (glibc's MORECORE_FAILURE).
 *
 * What it costs: the kernel's brk is one call each way. Here shrinking
 * drops the pages (MADV_DONTNEED: they read as zero and take no memory
 * until touched again, as after a real shrink and regrow), and in compat
 * mode the range stays read/write, so growing back below the highest
 * break so far needs no call at all: one call per shrink-grow cycle where
 * protecting and unprotecting each time took four (glibc-simple trims and
 * regrows its heap ~5,000 times: results/2026-12-02_ptmalloc_perf3). It
 * is what glibc itself does with a non-main heap (shrink_heap only
 * madvises; grow_heap mprotects only past mprotect_size). The difference
 * from a real break: a stray access just past the break is not a SIGSEGV.
 * Hardened mode keeps that guard: it protects what it drops. */
static char *pt_sbrk(pt_inst_t *inst, ptrdiff_t incr)
{
    char *old = inst->brk_cur;
    if (incr > 0) {
        if ((size_t)incr > (size_t)(inst->brk_end - old))
            return NULL;
        char *end = old + incr;
        if (end > inst->brk_rw_end) {
            if (mallet_os_protect(inst->brk_rw_end, (size_t)(end - inst->brk_rw_end), MALLET_PROT_RW) != 0)
                return NULL;
            inst->brk_rw_end = end;
        }
        __atomic_store_n(&inst->brk_cur, end, __ATOMIC_RELAXED);
    } else if (incr < 0) {
        size_t drop = (size_t)-incr;
        if (drop > (size_t)(old - inst->brk_base))
            return NULL;
        char *nb = old - drop;
        mallet_os_decommit(nb, drop, MALLET_DECOMMIT_EAGER);
        if (pt_hard(inst)) {
            mallet_os_protect(nb, (size_t)(inst->brk_rw_end - nb), MALLET_PROT_NONE);
            inst->brk_rw_end = nb;
        }
        __atomic_store_n(&inst->brk_cur, nb, __ATOMIC_RELAXED);
    }
    return old;
}

/* ---- heaps of non-main arenas ------------------------------------------------ */

pt_heap_info_t *pt_new_heap(pt_inst_t *inst, size_t size, size_t top_pad)
{
    size_t pagesize = mallet_os_page_size();
    if (size + top_pad < PT_HEAP_MIN_SIZE)
        size = PT_HEAP_MIN_SIZE;
    else if (size + top_pad <= PT_HEAP_MAX_SIZE)
        size += top_pad;
    else if (size > PT_HEAP_MAX_SIZE)
        return NULL;
    else
        size = PT_HEAP_MAX_SIZE;
    size = PT_ALIGN_UP(size, pagesize);
    char *p = mallet_os_map_aligned(PT_HEAP_MAX_SIZE, PT_HEAP_MAX_SIZE, MALLET_PROT_NONE);
    if (p == NULL)
        return NULL;
    if (mallet_os_protect(p, size, MALLET_PROT_RW) != 0) {
        mallet_os_unmap(p, PT_HEAP_MAX_SIZE);
        return NULL;
    }
    pt_heap_info_t *h = (pt_heap_info_t *)p;
    h->ar_ptr = NULL;
    h->prev = NULL;
    h->size = size;
    h->mprotect_size = size;
    h->pagesize = pagesize;
    if (pt_heap_add(inst, h) != 0) { /* publishes the heap (release) */
        mallet_os_unmap(p, PT_HEAP_MAX_SIZE);
        return NULL;
    }
    mallet_os_name_mapping(p, PT_HEAP_MAX_SIZE, "mallet-ptmalloc-heap");
    return h;
}

static int grow_heap(pt_heap_info_t *h, long diff)
{
    size_t pagesize = h->pagesize;
    diff = (long)PT_ALIGN_UP((size_t)diff, pagesize);
    size_t new_size = h->size + (size_t)diff;
    if (new_size > PT_HEAP_MAX_SIZE)
        return -1;
    if (new_size > h->mprotect_size) {
        if (mallet_os_protect((char *)h + h->mprotect_size, new_size - h->mprotect_size, MALLET_PROT_RW) != 0)
            return -2;
        h->mprotect_size = new_size;
    }
    __atomic_store_n(&h->size, new_size, __ATOMIC_RELAXED); /* free() reads it unlocked */
    return 0;
}

static int shrink_heap(pt_heap_info_t *h, size_t diff)
{
    size_t new_size = h->size - diff;
    if ((long)new_size < (long)sizeof(*h))
        return -1;
    /* MADV_DONTNEED keeps the pages mapped; they read back as zeros. */
    __atomic_store_n(&h->size, new_size, __ATOMIC_RELAXED);
    mallet_os_decommit((char *)h + new_size, diff, MALLET_DECOMMIT_EAGER);
    return 0;
}

static void delete_heap(pt_inst_t *inst, pt_heap_info_t *h)
{
    pt_heap_remove(inst, h);
    mallet_os_unmap(h, PT_HEAP_MAX_SIZE);
}

int pt_heap_trim(pt_inst_t *inst, pt_heap_info_t *heap, size_t pad, pt_tcache_t *tc)
{
    (void)tc;
    pt_arena_t *ar_ptr = heap->ar_ptr;
    size_t pagesz = heap->pagesize;
    mchunkptr top_chunk = ar_ptr->top, p;
    size_t new_size, top_size, extra, prev_size, misalign;

    /* Can this heap go away completely? */
    while (top_chunk == (mchunkptr)(heap + 1) && heap->prev != NULL) {
        pt_heap_info_t *prev_heap = heap->prev;
        prev_size = prev_heap->size - (PT_MINSIZE - 2 * PT_SIZE_SZ);
        p = pt_chunk_at(prev_heap, prev_size);
        misalign = (uintptr_t)p & PT_ALIGN_MASK;
        p = pt_chunk_at(prev_heap, prev_size - misalign);
        if (pt_chunksize_nomask(p) != (0 | PT_PREV_INUSE))
            return 0; /* not the fencepost: leave the heap alone */
        p = pt_prev_chunk(p);
        new_size = pt_chunksize(p) + (PT_MINSIZE - 2 * PT_SIZE_SZ) + misalign;
        if (!pt_prev_inuse(p))
            new_size += p->prev_size;
        if (new_size + (PT_HEAP_MAX_SIZE - prev_heap->size) < pad + PT_MINSIZE + pagesz)
            break;
        pt_sysmem_add(ar_ptr, -heap->size);
        __atomic_add_fetch(&inst->released, heap->size, __ATOMIC_RELAXED);
        delete_heap(inst, heap);
        heap = prev_heap;
        if (!pt_prev_inuse(p)) {
            p = pt_prev_chunk(p);
            if (!pt_unlink_chunk(inst, ar_ptr, p))
                return 0;
        }
        ar_ptr->top = top_chunk = p;
        pt_set_head(top_chunk, new_size | PT_PREV_INUSE);
    }

    /* Same rule as systrim for the main arena: keep top_pad, whole pages. */
    top_size = pt_chunksize(top_chunk);
    if (top_size < __atomic_load_n(&inst->mp.trim_threshold, __ATOMIC_RELAXED))
        return 0;
    long top_area = (long)top_size - (long)PT_MINSIZE - 1;
    if (top_area < 0 || (size_t)top_area <= pad)
        return 0;
    extra = PT_ALIGN_DOWN((size_t)top_area - pad, pagesz);
    if (extra == 0)
        return 0;
    if (shrink_heap(heap, extra) != 0)
        return 0;
    pt_sysmem_add(ar_ptr, -extra);
    __atomic_add_fetch(&inst->released, extra, __ATOMIC_RELAXED);
    pt_set_head(top_chunk, (top_size - extra) | PT_PREV_INUSE);
    return 1;
}

/* ---- mmapped chunks ------------------------------------------------------------ */

static void note_mmap(pt_inst_t *inst, size_t size)
{
    int n = __atomic_add_fetch(&inst->mp.n_mmaps, 1, __ATOMIC_RELAXED);
    int m = __atomic_load_n(&inst->mp.max_n_mmaps, __ATOMIC_RELAXED);
    while (n > m && !__atomic_compare_exchange_n(&inst->mp.max_n_mmaps, &m, n, true, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
    size_t sum = __atomic_add_fetch(&inst->mp.mmapped_mem, size, __ATOMIC_RELAXED);
    size_t mx = __atomic_load_n(&inst->mp.max_mmapped_mem, __ATOMIC_RELAXED);
    while (sum > mx && !__atomic_compare_exchange_n(&inst->mp.max_mmapped_mem, &mx, sum, true,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static void *sysmalloc_mmap(pt_inst_t *inst, size_t nb, size_t pagesize)
{
    size_t size = PT_ALIGN_UP(nb + PT_SIZE_SZ, pagesize);
    if (size <= nb)
        return NULL;
    char *mm = mallet_os_map(NULL, size, MALLET_PROT_RW);
    if (mm == NULL)
        return NULL;
    mchunkptr p = (mchunkptr)mm;
    if (pt_mm_add(inst, (uintptr_t)p, (uintptr_t)mm, size) != 0) {
        mallet_os_unmap(mm, size);
        return NULL;
    }
    p->prev_size = 0;
    pt_set_head(p, size | PT_IS_MMAPPED);
    note_mmap(inst, size);
    return pt_chunk2mem(p);
}

/* Is p a live mmapped chunk of this instance with exactly this header?
 * glibc checks only page alignment; mallet also asks its registry so a
 * forged header can never unmap someone else's memory. */
static bool mmapped_chunk_ok(pt_inst_t *inst, mchunkptr p, pt_mmrec_t *rec)
{
    size_t pagesize = mallet_os_page_size();
    uintptr_t block = (uintptr_t)p - p->prev_size;
    size_t total = p->prev_size + pt_chunksize(p);
    uintptr_t off = (uintptr_t)pt_chunk2mem(p) & (pagesize - 1);
    if (((block | total) & (pagesize - 1)) != 0 || (off & (off - 1)) != 0)
        return false;
    if (!pt_mm_find(inst, (uintptr_t)p, rec))
        return false;
    return rec->base == block && rec->len == total;
}

void pt_munmap_chunk(pt_inst_t *inst, mchunkptr p)
{
    pt_mmrec_t rec;
    if (!mmapped_chunk_ok(inst, p, &rec)) {
        pt_error(inst, MALLET_ERR_INVALID_FREE, pt_chunk2mem(p), "munmap_chunk(): invalid pointer");
        return;
    }
    pt_mm_remove(inst, (uintptr_t)p);
    if (pt_hard(inst)) {
        mallet_lock(&inst->map_lock);
        inst->unmapped[inst->unmapped_next++ % 64] = (uintptr_t)p;
        mallet_unlock(&inst->map_lock);
    }
    __atomic_sub_fetch(&inst->mp.n_mmaps, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&inst->mp.mmapped_mem, rec.len, __ATOMIC_RELAXED);
    mallet_os_unmap((void *)rec.base, rec.len);
}

mchunkptr pt_mremap_chunk(pt_inst_t *inst, mchunkptr p, size_t new_size, bool *failed_check)
{
    size_t pagesize = mallet_os_page_size();
    pt_mmrec_t rec;
    *failed_check = false;
    if (!mmapped_chunk_ok(inst, p, &rec)) {
        pt_error(inst, MALLET_ERR_INVALID_REALLOC, pt_chunk2mem(p), "mremap_chunk(): invalid pointer");
        *failed_check = true;
        return NULL;
    }
    size_t offset = p->prev_size;
    size_t total = rec.len;
    new_size = PT_ALIGN_UP(new_size + offset + PT_SIZE_SZ, pagesize);
    if (total == new_size)
        return p;
    char *cp = mallet_os_remap((void *)rec.base, total, new_size, true);
    if (cp == NULL)
        return NULL;
    mchunkptr np = (mchunkptr)(cp + offset);
    pt_set_head(np, (new_size - offset) | PT_IS_MMAPPED);
    pt_mm_update(inst, (uintptr_t)p, (uintptr_t)np, (uintptr_t)cp, new_size);
    size_t sum = __atomic_add_fetch(&inst->mp.mmapped_mem, new_size - total, __ATOMIC_RELAXED); /* wraps down */
    size_t mx = __atomic_load_n(&inst->mp.max_mmapped_mem, __ATOMIC_RELAXED);
    while (sum > mx && !__atomic_compare_exchange_n(&inst->mp.max_mmapped_mem, &mx, sum, true,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return np;
}

/* ---- sysmalloc ---------------------------------------------------------------------- */

void *pt_sysmalloc(pt_inst_t *inst, size_t nb, pt_arena_t *av, pt_tcache_t *tc)
{
    size_t pagesize = mallet_os_page_size();
    bool tried_mmap = false;

    /* mmap_threshold and n_mmaps change without any arena lock (free of an
     * mmapped chunk): read them once, relaxed. */
    if (av == NULL || (nb >= __atomic_load_n(&inst->mp.mmap_threshold, __ATOMIC_RELAXED) &&
                       __atomic_load_n(&inst->mp.n_mmaps, __ATOMIC_RELAXED) < inst->mp.n_mmaps_max)) {
        tried_mmap = true;
        void *r = sysmalloc_mmap(inst, nb, pagesize);
        if (r != NULL || av == NULL) {
            if (!r)
                errno = ENOMEM;
            return r;
        }
    }

    mchunkptr old_top = av->top;
    size_t old_size = pt_chunksize(old_top);
    char *old_end = (char *)pt_chunk_at(old_top, old_size);
    if (!((old_top == pt_initial_top(av) && old_size == 0) ||
          (old_size >= PT_MINSIZE && pt_prev_inuse(old_top) && ((uintptr_t)old_end & (pagesize - 1)) == 0))) {
        pt_error(inst, MALLET_ERR_INTERNAL, pt_chunk2mem(old_top), assert_sysmalloc);
        return NULL;
    }

    if (!pt_is_main(inst, av)) {
        pt_heap_info_t *old_heap = pt_heap_for_ptr(old_top), *heap;
        size_t old_heap_size = old_heap->size;
        if ((long)(PT_MINSIZE + nb - old_size) > 0 && grow_heap(old_heap, (long)(PT_MINSIZE + nb - old_size)) == 0) {
            pt_sysmem_add(av, old_heap->size - old_heap_size);
            pt_set_head(old_top, (size_t)(((char *)old_heap + old_heap->size) - (char *)old_top) | PT_PREV_INUSE);
        } else if ((heap = pt_new_heap(inst, nb + (PT_MINSIZE + sizeof(*heap)), inst->mp.top_pad)) != NULL) {
            heap->ar_ptr = av;
            heap->prev = old_heap;
            pt_sysmem_add(av, heap->size);
            av->top = (mchunkptr)(heap + 1);
            pt_set_head(av->top, (heap->size - sizeof(*heap)) | PT_PREV_INUSE);
            /* Fenceposts at the end of the old heap; free the rest of its top. */
            old_size = (old_size - PT_MINSIZE) & ~PT_ALIGN_MASK;
            pt_set_head(pt_chunk_at(old_top, old_size + PT_HDR), 0 | PT_PREV_INUSE);
            if (old_size >= PT_MINSIZE) {
                pt_set_head(pt_chunk_at(old_top, old_size), PT_HDR | PT_PREV_INUSE);
                pt_set_foot(pt_chunk_at(old_top, old_size), PT_HDR);
                pt_set_head(old_top, old_size | PT_PREV_INUSE | PT_NON_MAIN_ARENA);
                pt_int_free(inst, av, old_top, tc, true);
            } else {
                pt_set_head(old_top, (old_size + PT_HDR) | PT_PREV_INUSE);
                pt_set_foot(old_top, old_size + PT_HDR);
            }
        } else if (!tried_mmap) {
            void *r = sysmalloc_mmap(inst, nb, pagesize);
            if (r == NULL)
                errno = ENOMEM;
            return r;
        }
    } else {
        /* main arena: the emulated brk */
        size_t size = nb + inst->mp.top_pad + PT_MINSIZE;
        if (pt_contiguous(av))
            size -= old_size;
        size = PT_ALIGN_UP(size, pagesize);
        char *brk = NULL, *snd_brk = NULL;
        if ((long)size > 0)
            brk = pt_sbrk(inst, (ptrdiff_t)size);
        if (brk == NULL) {
            /* brk exhausted: mmap a segment, the arena is non-contiguous from now on */
            if (pt_contiguous(av))
                size = PT_ALIGN_UP(size + old_size, pagesize);
            if (size < PT_MMAP_AS_MORECORE_SIZE)
                size = PT_MMAP_AS_MORECORE_SIZE;
            if (size > nb && inst->nsegs < PT_MAX_SEGS) {
                char *mbrk = mallet_os_map(NULL, size, MALLET_PROT_RW);
                if (mbrk != NULL) {
                    mallet_lock(&inst->map_lock);
                    inst->segs[inst->nsegs].base = mbrk;
                    inst->segs[inst->nsegs].len = size;
                    __atomic_store_n(&inst->nsegs, inst->nsegs + 1, __ATOMIC_RELEASE);
                    mallet_unlock(&inst->map_lock);
                    brk = mbrk;
                    snd_brk = brk + size;
                    av->flags |= PT_NONCONTIGUOUS_BIT;
                }
            }
        }
        if (brk != NULL) {
            if (inst->mp.sbrk_base == NULL)
                inst->mp.sbrk_base = brk;
            pt_sysmem_add(av, size);
            if (brk == old_end && snd_brk == NULL) {
                pt_set_head(old_top, (size + old_size) | PT_PREV_INUSE);
            } else if (pt_contiguous(av) && old_size && brk < old_end) {
                pt_error(inst, MALLET_ERR_METADATA_CORRUPTION, brk, "break adjusted to free malloc space");
                return NULL;
            } else {
                size_t front_misalign, end_misalign, correction = 0;
                char *aligned_brk = brk;
                if (pt_contiguous(av)) {
                    if (old_size)
                        pt_sysmem_add(av, (size_t)(brk - old_end));
                    front_misalign = (uintptr_t)pt_chunk2mem((mchunkptr)brk) & PT_ALIGN_MASK;
                    if (front_misalign > 0) {
                        correction = PT_ALIGNMENT - front_misalign;
                        aligned_brk += correction;
                    }
                    correction += old_size;
                    end_misalign = (uintptr_t)(brk + size + correction);
                    correction += PT_ALIGN_UP(end_misalign, pagesize) - end_misalign;
                    snd_brk = pt_sbrk(inst, (ptrdiff_t)correction);
                    if (snd_brk == NULL) {
                        correction = 0;
                        snd_brk = pt_sbrk(inst, 0);
                    }
                } else {
                    front_misalign = (uintptr_t)pt_chunk2mem((mchunkptr)brk) & PT_ALIGN_MASK;
                    if (front_misalign > 0)
                        aligned_brk += PT_ALIGNMENT - front_misalign;
                    if (snd_brk == NULL)
                        snd_brk = pt_sbrk(inst, 0);
                }
                if (snd_brk != NULL) {
                    av->top = (mchunkptr)aligned_brk;
                    pt_set_head(av->top, (size_t)(snd_brk - aligned_brk + correction) | PT_PREV_INUSE);
                    pt_sysmem_add(av, correction);
                    if (old_size != 0) {
                        /* double fencepost where the old top ended; free what is left of it */
                        old_size = (old_size - 2 * PT_HDR) & ~PT_ALIGN_MASK;
                        pt_set_head(old_top, old_size | PT_PREV_INUSE);
                        pt_set_head(pt_chunk_at(old_top, old_size), PT_HDR | PT_PREV_INUSE);
                        pt_set_head(pt_chunk_at(old_top, old_size + PT_HDR), PT_HDR | PT_PREV_INUSE);
                        if (old_size >= PT_MINSIZE)
                            pt_int_free(inst, av, old_top, tc, true);
                    }
                }
            }
        }
    }

    if (av->system_mem > av->max_system_mem)
        av->max_system_mem = av->system_mem;
    if (inst->poisoned)
        return NULL;

    mchunkptr p = av->top;
    size_t size = pt_chunksize(p);
    if (size >= nb + PT_MINSIZE) {
        size_t remainder_size = size - nb;
        mchunkptr remainder = pt_chunk_at(p, nb);
        av->top = remainder;
        pt_set_head(p, nb | PT_PREV_INUSE | pt_arena_bit(inst, av));
        pt_set_head(remainder, remainder_size | PT_PREV_INUSE);
        return pt_chunk2mem(p);
    }
    errno = ENOMEM;
    return NULL;
}

/* ---- trimming ---------------------------------------------------------------------------- */

int pt_systrim(pt_inst_t *inst, size_t pad, pt_arena_t *av)
{
    size_t pagesize = mallet_os_page_size();
    size_t top_size = pt_chunksize(av->top);
    long top_area = (long)top_size - (long)PT_MINSIZE - 1;
    if (top_area <= (long)pad)
        return 0;
    size_t extra = PT_ALIGN_DOWN((size_t)top_area - pad, pagesize);
    if (extra == 0)
        return 0;
    /* Only if the top chunk ends at the current break. */
    char *current_brk = pt_sbrk(inst, 0);
    if (current_brk == (char *)av->top + top_size) {
        pt_sbrk(inst, -(ptrdiff_t)extra);
        char *new_brk = pt_sbrk(inst, 0);
        size_t released = (size_t)(current_brk - new_brk);
        if (released != 0) {
            pt_sysmem_add(av, -released);
            __atomic_add_fetch(&inst->released, released, __ATOMIC_RELAXED);
            pt_set_head(av->top, (top_size - released) | PT_PREV_INUSE);
            return 1;
        }
    }
    return 0;
}

/* glibc mtrim: consolidate, then drop whole pages inside free chunks. */
static int mtrim(pt_inst_t *inst, pt_arena_t *av, size_t pad)
{
    pt_malloc_consolidate(inst, av);
    if (inst->poisoned)
        return 0;
    const size_t ps = mallet_os_page_size();
    const unsigned psindex = pt_bin_index(ps);
    const size_t psm1 = ps - 1;
    int result = 0;
    for (unsigned i = 1; i < PT_NBINS; ++i) {
        if (i == 1 || i >= psindex) {
            mchunkptr bin = pt_bin_at(av, i);
            for (mchunkptr p = pt_last(bin); p != bin; p = p->bk) {
                size_t size = pt_chunksize(p);
                if (size > psm1 + sizeof(pt_chunk_t)) {
                    char *paligned_mem = (char *)(((uintptr_t)p + sizeof(pt_chunk_t) + psm1) & ~psm1);
                    size -= (size_t)(paligned_mem - (char *)p);
                    if (size > psm1) {
                        mallet_os_decommit(paligned_mem, size & ~psm1, MALLET_DECOMMIT_EAGER);
                        __atomic_add_fetch(&inst->released, size & ~psm1, __ATOMIC_RELAXED);
                        result = 1;
                    }
                }
            }
        }
    }
    return result | (pt_is_main(inst, av) ? pt_systrim(inst, pad, av) : 0);
}

int pt_malloc_trim(pt_inst_t *inst, size_t pad)
{
    int result = 0;
    for (pt_arena_t *a = &inst->main_arena; a != NULL && !inst->poisoned;
         a = pt_arena_next(a)) {
        pt_lock(&a->mutex);
        result |= mtrim(inst, a, pad);
        pt_unlock(&a->mutex);
    }
    return result;
}
