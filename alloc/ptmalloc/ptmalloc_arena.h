/*
 * ptmalloc_arena.h — the state of one ptmalloc instance and its arenas,
 * shared by every ptmalloc_*.c file (internal; not a public header).
 *
 * glibc keeps one process-wide set of globals (main_arena, mp_, the arena
 * list, thread_arena, tcache). mallet needs independent instances, so all
 * of that lives in a pt_inst_t, mapped with mallet_os_map outside any heap:
 *
 *   pt_inst_t (own mapping)        pt_arena_t #1      heaps (64 MiB aligned)
 *   +---------------------+        (own mapping)      +-----------+-------------+-------
 *   | zone, mp_ params    |  next  +-----------+ <----+ heap_info | (unused, as | chunks
 *   | main_arena ---------+------->| mutex,bins|ar_ptr|  ar_ptr   | glibc's     |
 *   | emulated brk range  |        +-----------+      |           | malloc_state)
 *   | heap table, mmap    |                           +-----------+-------------+-------
 *   | chunk registry      |   per-thread record (own mapping), one slot per
 *   +---------------------+   live instance: {gen, thread_arena, tcache}
 *
 * A non-main arena's struct is not in its heap, unlike glibc's: ours is
 * bigger than glibc's malloc_state (a bigger lock, mallet fields), and the
 * first chunk must sit at glibc's offset from the heap start
 * (pt_heap_chunks_start), so the heap keeps a glibc-sized gap instead.
 *
 * The registries (heaps, mmapped chunks, main-arena segments) are kept
 * outside the heap on purpose: destroy() unmaps everything an instance
 * owns by walking them, even after the heap itself was corrupted, and the
 * ownership test never has to trust a chunk header.
 */
#ifndef MALLET_PTMALLOC_ARENA_H
#define MALLET_PTMALLOC_ARENA_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mallet/mallet.h"
#include "os/os.h"
#include "ptmalloc/ptmalloc_chunk.h"
#include "ptmalloc/ptmalloc_lock.h"

typedef struct pt_inst pt_inst_t;
typedef struct pt_arena pt_arena_t;
typedef struct pt_tcache pt_tcache_t;

#define PT_LIKELY(x) __builtin_expect(!!(x), 1)
#define PT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- arena (glibc's struct malloc_state) -------------------------------- */
#define PT_NONCONTIGUOUS_BIT 2

struct pt_arena {
    pt_lock_t mutex;
    int flags;
    int have_fastchunks;
    mchunkptr fastbinsY[PT_NFASTBINS];
    mchunkptr top;
    mchunkptr last_remainder;
    mchunkptr bins[PT_NBINS * 2 - 2];
    unsigned binmap[PT_BINMAPSIZE];
    pt_arena_t *next;
    pt_arena_t *next_free;
    size_t attached_threads;
    size_t system_mem;
    size_t max_system_mem;
    /* mallet: owning instance, arena number (malloc_info's heap nr), and
     * for a non-main arena its first heap (the arena struct is not in it) */
    pt_inst_t *inst;
    unsigned nr;
    struct pt_heap_info *first_heap;
};

/* Fastbin heads, have_fastchunks and system_mem are read by free() without
 * the arena lock (glibc's lock-free fastbin push, ptmalloc_free.c), so their
 * every access is atomic; system_mem is only written under the lock. The
 * heads are published with release and read with acquire: a chunk's fd link
 * is written before the push that makes it reachable. */
static inline mchunkptr pt_fastbin_head(pt_arena_t *av, unsigned i)
{
    return __atomic_load_n(&av->fastbinsY[i], __ATOMIC_ACQUIRE);
}
static inline bool pt_have_fastchunks(const pt_arena_t *av)
{
    return __atomic_load_n(&av->have_fastchunks, __ATOMIC_RELAXED) != 0;
}
static inline void pt_set_have_fastchunks(pt_arena_t *av, bool v)
{
    __atomic_store_n(&av->have_fastchunks, v ? 1 : 0, __ATOMIC_RELAXED);
}
static inline size_t pt_sysmem(const pt_arena_t *av) { return __atomic_load_n(&av->system_mem, __ATOMIC_RELAXED); }
/* Under the lock: system_mem += delta (delta may be a negated size_t). */
static inline void pt_sysmem_add(pt_arena_t *av, size_t delta)
{
    __atomic_store_n(&av->system_mem, av->system_mem + delta, __ATOMIC_RELAXED);
}

/* Bin heads overlay the bins[] pairs: only fd/bk of the fake chunk are used. */
#define pt_bin_at(m, i) \
    ((mchunkptr)((char *)&(m)->bins[((i) - 1) * 2] - offsetof(pt_chunk_t, fd)))
#define pt_next_bin(b) ((mchunkptr)((char *)(b) + (sizeof(mchunkptr) << 1)))
#define pt_first(b) ((b)->fd)
#define pt_last(b) ((b)->bk)
#define pt_unsorted_chunks(m) pt_bin_at(m, 1)
#define pt_initial_top(m) pt_unsorted_chunks(m)
#define pt_contiguous(m) (((m)->flags & PT_NONCONTIGUOUS_BIT) == 0)
#define pt_mark_bin(m, i) ((m)->binmap[pt_idx2block(i)] |= pt_idx2bit(i))

/* glibc's heap_info: at the base of every 64 MiB heap of a non-main arena. */
typedef struct pt_heap_info {
    pt_arena_t *ar_ptr;
    struct pt_heap_info *prev;
    size_t size;          /* bytes in use (read/write) */
    size_t mprotect_size; /* bytes ever made read/write */
    size_t pagesize;
    char pad[8];          /* sizeof + 16 is a multiple of 16 */
} pt_heap_info_t;

/* The arena list only grows (new_arena links at the head under list_lock), and
 * threads walk it without that lock, so every read of ->next is an acquire
 * load paired with new_arena's release store. */
static inline pt_arena_t *pt_arena_next(const pt_arena_t *a)
{
    return __atomic_load_n(&a->next, __ATOMIC_ACQUIRE);
}

static inline pt_heap_info_t *pt_heap_for_ptr(const void *p)
{
    return (pt_heap_info_t *)((uintptr_t)p & ~(PT_HEAP_MAX_SIZE - 1));
}

/* glibc's struct malloc_state, field for field (its mutex is an int), only
 * for its size. A non-main arena's first heap must look exactly like
 * glibc's, heap_info then malloc_state then the first chunk, or every
 * chunk would sit at another offset from the heap start than in glibc
 * (the differential test compares those offsets). Our pt_arena_t is
 * bigger (a bigger lock, mallet's fields), so it lives in its own small
 * mapping and this much space is left unused in the heap instead. */
typedef struct pt_glibc_malloc_state {
    int mutex, flags, have_fastchunks;
    mchunkptr fastbinsY[PT_NFASTBINS], top, last_remainder, bins[PT_NBINS * 2 - 2];
    unsigned binmap[PT_BINMAPSIZE];
    void *next, *next_free;
    size_t attached_threads, system_mem, max_system_mem;
} pt_glibc_malloc_state_t;

/* Where the chunks of a heap start: right after heap_info, and in an
 * arena's first heap after the (glibc-sized) malloc_state, aligned so the
 * user pointer is 16-aligned (glibc _int_new_arena). */
static inline char *pt_heap_chunks_start(const pt_heap_info_t *h, bool first)
{
    char *ptr = (char *)(h + 1);
    if (first) {
        ptr += sizeof(pt_glibc_malloc_state_t);
        uintptr_t misalign = (uintptr_t)pt_chunk2mem((mchunkptr)ptr) & PT_ALIGN_MASK;
        if (misalign > 0)
            ptr += PT_ALIGNMENT - misalign;
    }
    return ptr;
}

/* ---- tcache ---------------------------------------------------------------- */
typedef struct pt_tentry {
    struct pt_tentry *next; /* safe-linked */
    uintptr_t key;          /* inst->tcache_key while in a tcache */
} pt_tentry_t;

struct pt_tcache {
    uint16_t counts[PT_TCACHE_MAX_BINS];
    pt_tentry_t *entries[PT_TCACHE_MAX_BINS];
};

/* ---- per-thread state, one slot per live instance ------------------------ */
typedef struct pt_tstate {
    uint64_t gen;               /* == inst->gen when this slot is valid */
    pt_arena_t *arena;          /* glibc's thread_arena */
    pt_tcache_t *tcache;
    bool tcache_shutting_down;
    struct pt_tstate *next, *prev; /* the instance's list of thread states */
} pt_tstate_t;

#define PT_MAX_INSTANCES 256

/* ---- tunables (glibc's mp_) ------------------------------------------------ */
typedef struct pt_params {
    size_t trim_threshold;
    size_t top_pad;
    size_t mmap_threshold;
    size_t arena_test;
    size_t arena_max;
    int n_mmaps;
    int n_mmaps_max;
    int max_n_mmaps;
    int no_dyn_threshold;
    size_t mmapped_mem;
    size_t max_mmapped_mem;
    char *sbrk_base;
    size_t tcache_bins;
    size_t tcache_max_bytes;
    size_t tcache_count;
    size_t tcache_unsorted_limit;
    int perturb_byte;
    size_t max_fast; /* glibc's global_max_fast */
} pt_params_t;

/* Options (the mallet table in ptmalloc_api.c). -1 = glibc's default. */
typedef struct pt_settings {
    long mxfast, trim_threshold, top_pad, mmap_threshold, mmap_max, perturb;
    long arena_test, arena_max, tcache_max, tcache_count, tcache_unsorted_limit;
    long hugetlb;
    size_t brk_reserve;
    bool harden;
} pt_settings_t;

/* A registered OS mapping holding one mmapped chunk. */
typedef struct pt_mmrec {
    uintptr_t chunk; /* key: the chunk address; 0 empty, 1 deleted */
    uintptr_t base;
    size_t len;
} pt_mmrec_t;

#define PT_HEAP_SLOTS 4096 /* 256 GiB of non-main heaps per instance */
#define PT_MAX_SEGS 64     /* main-arena segments mapped after brk ran out */

struct pt_inst {
    mallet_zone_t zone; /* first: a zone pointer is an instance pointer */
    pt_params_t mp;
    pt_settings_t set;
    pt_arena_t main_arena;

    mallet_lock_t list_lock;      /* arena list, narenas */
    mallet_lock_t free_list_lock; /* free_list, attached_threads */
    pt_arena_t *free_list;
    size_t narenas;
    size_t narenas_limit;
    pt_arena_t *next_to_use;
    uintptr_t tcache_key;

    unsigned slot;
    uint64_t gen;
    bool is_default;
    volatile int poisoned; /* an error was reported and the handler returned */

    /* Emulated sbrk for the main arena: [brk_base, brk_cur) is the heap. */
    char *brk_base, *brk_cur, *brk_end;
    char *brk_rw_end; /* [brk_base, brk_rw_end) is read/write; past it PROT_NONE */
    char *brk_map; /* the whole reservation; brk_base is a random page inside */
    size_t brk_map_len;

    /* Registries of every mapping, outside the heap. */
    mallet_lock_t map_lock;
    unsigned nsegs;
    pt_mmrec_t *mm;
    size_t mm_cap, mm_used, mm_live;
    size_t nheaps;

    mallet_lock_t ts_lock;
    pt_tstate_t *ts_head;
    size_t released; /* bytes given back to the OS by trimming, ever */
    char name[32];

    /* Layout: everything a new instance writes is above this line, within
     * its first page; the tables below are written only as they fill (a
     * heap's slot, a segment, hardened mode's ring), so their pages stay
     * untouched, and not resident, until then. glibc keeps no such tables. */
    uintptr_t heaps[PT_HEAP_SLOTS]; /* heap bases; 0 empty, 1 deleted */
    struct { char *base; size_t len; } segs[PT_MAX_SEGS];
    /* hardened mode (ptmalloc.harden): recently unmapped mmapped chunks */
    uintptr_t unmapped[64];
    unsigned unmapped_next;
};

#define PT_INST(z) ((pt_inst_t *)(z))

/* glibc's get_max_fast(); mallopt may change it while free() reads it unlocked. */
static inline size_t pt_max_fast(const pt_inst_t *inst) { return __atomic_load_n(&inst->mp.max_fast, __ATOMIC_RELAXED); }

/* ---- errors (ptmalloc_zone.c) --------------------------------------------
 * Reports glibc's malloc_printerr text; marks the instance poisoned.
 * Returns only when a non-aborting handler is installed: the caller then
 * abandons the operation. */
void pt_error(pt_inst_t *inst, mallet_error_kind_t kind, const void *ptr, const char *msg);

/* ---- ptmalloc_arena.c ------------------------------------------------------ */
void pt_arena_init_state(pt_inst_t *inst, pt_arena_t *av, bool is_main);
pt_tstate_t *pt_tstate_slow(pt_inst_t *inst);
extern __thread struct pt_thread *pt_self __attribute__((tls_model("initial-exec")));
struct pt_thread { pt_tstate_t st[PT_MAX_INSTANCES]; };
/* The thread's last used state: (gen, state). Instance generations are
 * never reused, so a match is exact, and the common case (one instance,
 * as under libmallet.so) costs two thread-local loads and a compare where
 * the slot lookup took nine instructions on every malloc and free
 * (results/2026-12-02_ptmalloc_perf5). Cleared where a state is. */
struct pt_last_state { uint64_t gen; pt_tstate_t *ts; };
extern __thread struct pt_last_state pt_last __attribute__((tls_model("initial-exec")));
/* The slot lookup; remembers a found state in pt_last (ptmalloc_arena.c). */
pt_tstate_t *pt_tstate_lookup(const pt_inst_t *inst);
static inline pt_tstate_t *pt_tstate(pt_inst_t *inst)
{
    if (PT_LIKELY(pt_last.gen == inst->gen))
        return pt_last.ts;
    pt_tstate_t *s = pt_tstate_lookup(inst);
    return s ? s : pt_tstate_slow(inst);
}
/* The fast paths' test: the remembered state only, NULL on a miss (their
 * slow paths then look it up). No call, so they need no stack frame. */
static inline pt_tstate_t *pt_tstate_remembered(const pt_inst_t *inst)
{
    return PT_LIKELY(pt_last.gen == inst->gen) ? pt_last.ts : NULL;
}
/* glibc arena_get2: a thread without an arena (or after a failure, one
 * other than avoid) gets one from the free list, a new one, or a reused
 * one; returned locked, or NULL. */
pt_arena_t *pt_arena_get2(pt_inst_t *inst, pt_tstate_t *ts, size_t size, pt_arena_t *avoid);
/* Locked arena for this thread (glibc arena_get). ts may be NULL. Inline:
 * every call that misses the tcache takes it. */
static inline pt_arena_t *pt_arena_get(pt_inst_t *inst, pt_tstate_t *ts, size_t size)
{
    pt_arena_t *a = ts ? ts->arena : &inst->main_arena;
    if (PT_LIKELY(a != NULL)) {
        pt_lock(&a->mutex);
        return a;
    }
    return pt_arena_get2(inst, ts, size, NULL);
}
/* glibc 2.36's SINGLE_THREAD_P: while the process has never started a
 * second thread, __libc_malloc, calloc, realloc and memalign use the main
 * arena with no lock and no retry, and _int_free takes no lock (it acts
 * as if it held it). No other thread exists to race with. */
static inline bool pt_single_thread(void) { return mallet_os_single_threaded_inline(); }
/* After a failure in ar_ptr (locked): another arena, locked (arena_get_retry). */
pt_arena_t *pt_arena_get_retry(pt_inst_t *inst, pt_tstate_t *ts, pt_arena_t *ar_ptr, size_t bytes);
int pt_inst_register(pt_inst_t *inst);
void pt_inst_unregister(pt_inst_t *inst);
void pt_fork_lock(pt_inst_t *inst);
void pt_fork_unlock(pt_inst_t *inst);
void pt_fork_reinit(pt_inst_t *inst);
void pt_lock_all(pt_inst_t *inst);
void pt_unmap_arenas(pt_inst_t *inst); /* destroy(): the non-main arena structs */
void pt_unlock_all(pt_inst_t *inst);

/* ---- ptmalloc_maps.c: registries of mappings -------------------------------- */
int pt_mm_add(pt_inst_t *inst, uintptr_t chunk, uintptr_t base, size_t len);
bool pt_mm_find(pt_inst_t *inst, uintptr_t chunk, pt_mmrec_t *out);
void pt_mm_remove(pt_inst_t *inst, uintptr_t chunk);
void pt_mm_update(pt_inst_t *inst, uintptr_t old_chunk, uintptr_t chunk, uintptr_t base, size_t len);
bool pt_mm_contains(pt_inst_t *inst, uintptr_t addr);
int pt_heap_add(pt_inst_t *inst, pt_heap_info_t *h);
void pt_heap_remove(pt_inst_t *inst, pt_heap_info_t *h);
bool pt_heap_known(const pt_inst_t *inst, uintptr_t base);
/* Where an address lies: which arena's memory (NULL: not in any heap). */
pt_arena_t *pt_arena_of_addr(pt_inst_t *inst, uintptr_t addr);
/* The arena whose committed memory holds the 16-byte header at p, or NULL. */
pt_arena_t *pt_owner_of_chunk(pt_inst_t *inst, mchunkptr p);
void pt_release_all_mappings(pt_inst_t *inst);

/* ---- ptmalloc_tcache.c ---------------------------------------------------- */
void pt_tcache_init(pt_inst_t *inst, pt_tstate_t *ts);
static inline void pt_maybe_init_tcache(pt_inst_t *inst, pt_tstate_t *ts)
{
    if (ts != NULL && PT_UNLIKELY(ts->tcache == NULL) && !ts->tcache_shutting_down)
        pt_tcache_init(inst, ts);
}
/* pt_tcache_put / pt_tcache_get / pt_tcache_free: inline, ptmalloc_fast.h */
void pt_tcache_thread_shutdown(pt_inst_t *inst, pt_tstate_t *ts);

/* ---- ptmalloc_malloc.c ----------------------------------------------------- */
void *pt_int_malloc(pt_inst_t *inst, pt_arena_t *av, size_t bytes, pt_tcache_t *tc);
/* M_PERTURB fills; the test is inline since nearly every call makes it,
 * and the fill is out of line so the test stays one load and a branch. */
void pt_perturb_fill(void *p, int byte, size_t n) __attribute__((cold));
static inline __attribute__((always_inline)) void pt_alloc_perturb(pt_inst_t *inst, void *p, size_t n)
{
    if (PT_UNLIKELY(inst->mp.perturb_byte))
        pt_perturb_fill(p, inst->mp.perturb_byte ^ 0xff, n);
}

/* ---- ptmalloc_free.c -------------------------------------------------------- */
/* pt_int_free: inline, ptmalloc_fast.h */
bool pt_unlink_chunk(pt_inst_t *inst, pt_arena_t *av, mchunkptr p); /* false after an error */
void pt_malloc_consolidate(pt_inst_t *inst, pt_arena_t *av);
static inline __attribute__((always_inline)) void pt_free_perturb(pt_inst_t *inst, void *p, size_t n)
{
    if (PT_UNLIKELY(inst->mp.perturb_byte))
        pt_perturb_fill(p, inst->mp.perturb_byte, n);
}

/* ---- ptmalloc_sysmalloc.c --------------------------------------------------- */
void *pt_sysmalloc(pt_inst_t *inst, size_t nb, pt_arena_t *av, pt_tcache_t *tc);
int pt_systrim(pt_inst_t *inst, size_t pad, pt_arena_t *av);
int pt_heap_trim(pt_inst_t *inst, pt_heap_info_t *heap, size_t pad, pt_tcache_t *tc);
void pt_munmap_chunk(pt_inst_t *inst, mchunkptr p);
mchunkptr pt_mremap_chunk(pt_inst_t *inst, mchunkptr p, size_t new_size, bool *failed_check);
pt_heap_info_t *pt_new_heap(pt_inst_t *inst, size_t size, size_t top_pad);
int pt_malloc_trim(pt_inst_t *inst, size_t pad);
int pt_brk_init(pt_inst_t *inst, size_t reserve);

/* ---- ptmalloc_api.c ---------------------------------------------------------- */
void *pt_malloc(pt_inst_t *inst, size_t bytes);
void pt_free(pt_inst_t *inst, void *mem);
void *pt_calloc(pt_inst_t *inst, size_t n, size_t elem);
void *pt_realloc(pt_inst_t *inst, void *oldmem, size_t bytes);
void *pt_memalign(pt_inst_t *inst, size_t alignment, size_t bytes);
size_t pt_usable_size(pt_inst_t *inst, const void *mem);
int pt_mallopt(pt_inst_t *inst, int param, int value);
int pt_load_settings(pt_inst_t *inst, const char *options, char *err, size_t errlen);
void pt_apply_settings(pt_inst_t *inst);
/* Sets the zone's double-free promise from the settings (call after caps). */
void pt_update_promises(pt_inst_t *inst);
void pt_print_options(int fd);
struct mallinfo2;
void pt_mallinfo2(pt_inst_t *inst, struct mallinfo2 *m);
void pt_malloc_stats(pt_inst_t *inst, int fd);
int pt_malloc_info(pt_inst_t *inst, int options, void *fp);

/* ---- ptmalloc_introspect.c ---------------------------------------------------- */
int pt_check(pt_inst_t *inst);
void pt_statistics(pt_inst_t *inst, mallet_zone_stats_t *s);
int pt_enumerate(pt_inst_t *inst, unsigned mask, void *ctx, mallet_range_recorder_t recorder);
void pt_print(pt_inst_t *inst, int fd, bool verbose);

/* ---- hardened mode (ptmalloc.harden=1), beyond glibc ---------------------------
 * Fastbin chunks carry a key in their bk word, like tcache entries, so a
 * double free that is not at the top of the fastbin is caught by a scan;
 * a free of a chunk lying inside top is a double free; recently unmapped
 * mmapped chunks are remembered; free-list links are checked to point
 * into the instance before they are followed. */
static inline bool pt_hard(const pt_inst_t *inst) { return inst->set.harden; }
static inline mchunkptr pt_fast_key(const pt_inst_t *inst) { return (mchunkptr)(inst->tcache_key ^ 0x5a5a5a5a5a5a5a5aull); }
/* A link may point at a bin head of av or into av's committed memory. */
bool pt_link_ok(pt_inst_t *inst, pt_arena_t *av, const void *p);
bool pt_recently_unmapped(pt_inst_t *inst, uintptr_t chunk);

/* Is the arena the instance's main arena? */
static inline bool pt_is_main(const pt_inst_t *inst, const pt_arena_t *av) { return av == &inst->main_arena; }
static inline size_t pt_arena_bit(const pt_inst_t *inst, const pt_arena_t *av)
{
    return pt_is_main(inst, av) ? 0 : PT_NON_MAIN_ARENA;
}

#define PT_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((a) - 1))
#define PT_ALIGN_DOWN(x, a) ((x) & ~((a) - 1))

#include "ptmalloc/ptmalloc_fast.h"

#endif /* MALLET_PTMALLOC_ARENA_H */
