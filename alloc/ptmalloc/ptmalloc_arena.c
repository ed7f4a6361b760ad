/*
 * ptmalloc_arena.c — arenas and threads (ALLOCATOR_REFERENCE.md §D.12).
 *
 * glibc's arena.c, per instance: every thread has a thread_arena; the
 * first thread of an instance (its creator) uses the main arena, later
 * threads get an arena from arena_get2: one left on the free list by an
 * exited thread, else a new one in a fresh 64 MiB heap while the count
 * stays within the limit (arena_max, or 8 x CPUs once more than
 * arena_test arenas exist), else reused_arena's round robin. A new
 * arena's struct gets a mapping of its own and its heap is laid out as
 * glibc's (see ptmalloc_arena.h), so chunks sit at glibc's offsets.
 *
 * Per-thread state cannot be plain __thread variables because there is one
 * set per instance: each thread maps one record with a slot per live
 * instance (validated by the instance's generation number). A single
 * pthread key's destructor runs glibc's thread exit: flush the tcache,
 * detach from the arena (attached_threads 0 => free list).
 */
#include "ptmalloc/ptmalloc_arena.h"

#include <pthread.h>

__thread struct pt_thread *pt_self __attribute__((tls_model("initial-exec")));
static __thread int pt_self_dead __attribute__((tls_model("initial-exec")));
__thread struct pt_last_state pt_last __attribute__((tls_model("initial-exec")));

static mallet_lock_t insts_lock = MALLET_LOCK_INIT;
static pt_inst_t *insts[PT_MAX_INSTANCES];
static uint64_t next_gen = 1;
static mallet_tls_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

/* ---- arena state ------------------------------------------------------------ */

void pt_arena_init_state(pt_inst_t *inst, pt_arena_t *av, bool is_main)
{
    for (int i = 1; i < PT_NBINS; ++i) {
        mchunkptr bin = pt_bin_at(av, i);
        bin->fd = bin->bk = bin;
    }
    if (!is_main)
        av->flags |= PT_NONCONTIGUOUS_BIT;
    pt_set_have_fastchunks(av, false);
    av->top = pt_initial_top(av);
    av->inst = inst;
    pt_lock_init(&av->mutex);
}

static size_t arena_map_len(void) { return PT_ALIGN_UP(sizeof(pt_arena_t), mallet_os_page_size()); }

/* glibc _int_new_arena. The heap is sized and laid out as glibc's (see
 * pt_glibc_malloc_state_t); the pt_arena_t itself is mapped on its own. */
static pt_arena_t *new_arena(pt_inst_t *inst, size_t size, unsigned nr)
{
    const size_t hdr = sizeof(pt_heap_info_t) + sizeof(pt_glibc_malloc_state_t) + PT_ALIGNMENT;
    pt_arena_t *a = mallet_os_map(NULL, arena_map_len(), MALLET_PROT_RW);
    if (a == NULL)
        return NULL;
    mallet_os_name_mapping(a, arena_map_len(), "mallet-ptmalloc-arena");
    pt_heap_info_t *h = pt_new_heap(inst, size + hdr, inst->mp.top_pad);
    if (!h)
        h = pt_new_heap(inst, hdr, 0);
    if (!h) {
        mallet_os_unmap(a, arena_map_len());
        return NULL;
    }
    h->ar_ptr = a;
    pt_arena_init_state(inst, a, false);
    a->first_heap = h;
    a->attached_threads = 1;
    a->system_mem = a->max_system_mem = h->size;
    char *ptr = pt_heap_chunks_start(h, true);
    a->top = (mchunkptr)ptr;
    pt_set_head(a->top, (size_t)(((char *)h + h->size) - ptr) | PT_PREV_INUSE);
    mallet_lock(&inst->list_lock);
    a->nr = nr;
    a->next = pt_arena_next(&inst->main_arena);
    __atomic_store_n(&inst->main_arena.next, a, __ATOMIC_RELEASE);
    mallet_unlock(&inst->list_lock);
    return a;
}

/* destroy(): the arena structs are mappings of their own. */
void pt_unmap_arenas(pt_inst_t *inst)
{
    pt_arena_t *a = pt_arena_next(&inst->main_arena);
    inst->main_arena.next = NULL;
    while (a != NULL) {
        pt_arena_t *next = pt_arena_next(a);
        mallet_os_unmap(a, arena_map_len());
        a = next;
    }
}

static void detach_arena(pt_inst_t *inst, pt_arena_t *replaced)
{
    if (replaced != NULL && replaced->attached_threads > 0)
        --replaced->attached_threads;
}

static void remove_from_free_list(pt_inst_t *inst, pt_arena_t *arena)
{
    pt_arena_t **previous = &inst->free_list;
    for (pt_arena_t *p = *previous; p != NULL; p = p->next_free) {
        if (p == arena) {
            __atomic_store_n(previous, p->next_free, __ATOMIC_RELAXED); /* read unlocked */
            break;
        }
        previous = &p->next_free;
    }
}

static pt_arena_t *get_free_list(pt_inst_t *inst, pt_tstate_t *ts)
{
    pt_arena_t *replaced = ts ? ts->arena : NULL;
    pt_arena_t *result = __atomic_load_n(&inst->free_list, __ATOMIC_RELAXED);
    if (result != NULL) {
        mallet_lock(&inst->free_list_lock);
        result = inst->free_list;
        if (result != NULL) {
            __atomic_store_n(&inst->free_list, result->next_free, __ATOMIC_RELAXED);
            result->attached_threads++;
            detach_arena(inst, replaced);
        }
        mallet_unlock(&inst->free_list_lock);
        if (result != NULL) {
            if (ts)
                ts->arena = result;
            pt_lock(&result->mutex);
        }
    }
    return result;
}

static pt_arena_t *reused_arena(pt_inst_t *inst, pt_tstate_t *ts, pt_arena_t *avoid_arena)
{
    /* Acquire: next_to_use may name an arena another thread created; its
     * mutex must be seen initialised (pairs with the release below and
     * with new_arena's release publication). */
    pt_arena_t *begin = __atomic_load_n(&inst->next_to_use, __ATOMIC_ACQUIRE);
    if (begin == NULL)
        begin = &inst->main_arena;
    pt_arena_t *result = begin;
    do {
        if (pt_trylock(&result->mutex))
            goto out;
        result = pt_arena_next(result);
        if (result == NULL)
            result = &inst->main_arena;
    } while (result != begin);
    /* Nothing free: block on one, but not the arena that just failed. */
    if (result == avoid_arena) {
        result = pt_arena_next(result) ? pt_arena_next(result) : &inst->main_arena;
    }
    pt_lock(&result->mutex);
out:;
    pt_arena_t *replaced = ts ? ts->arena : NULL;
    mallet_lock(&inst->free_list_lock);
    detach_arena(inst, replaced);
    remove_from_free_list(inst, result);
    ++result->attached_threads;
    mallet_unlock(&inst->free_list_lock);
    pt_arena_t *after = pt_arena_next(result);
    __atomic_store_n(&inst->next_to_use, after ? after : &inst->main_arena, __ATOMIC_RELEASE);
    if (ts)
        ts->arena = result;
    return result;
}

pt_arena_t *pt_arena_get2(pt_inst_t *inst, pt_tstate_t *ts, size_t size, pt_arena_t *avoid_arena)
{
    pt_arena_t *a = get_free_list(inst, ts);
    if (a != NULL)
        return a;
    size_t limit = __atomic_load_n(&inst->narenas_limit, __ATOMIC_RELAXED);
    if (limit == 0) {
        if (inst->mp.arena_max != 0)
            limit = inst->mp.arena_max;
        else if (__atomic_load_n(&inst->narenas, __ATOMIC_RELAXED) > inst->mp.arena_test) {
            unsigned n = mallet_os_cpu_count();
            limit = (size_t)(n ? n : 2) * (sizeof(long) == 4 ? 2 : 8);
        }
        __atomic_store_n(&inst->narenas_limit, limit, __ATOMIC_RELAXED);
    }
    for (;;) {
        size_t n = __atomic_load_n(&inst->narenas, __ATOMIC_RELAXED);
        if (n <= limit - 1) { /* limit 0 wraps: create freely until the limit is known */
            if (!__atomic_compare_exchange_n(&inst->narenas, &n, n + 1, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_RELAXED))
                continue;
            a = new_arena(inst, size, (unsigned)n);
            if (a == NULL) {
                __atomic_fetch_sub(&inst->narenas, 1, __ATOMIC_ACQ_REL);
                return NULL;
            }
            pt_arena_t *replaced = ts ? ts->arena : NULL;
            mallet_lock(&inst->free_list_lock);
            detach_arena(inst, replaced);
            mallet_unlock(&inst->free_list_lock);
            if (ts)
                ts->arena = a;
            pt_lock(&a->mutex);
            return a;
        }
        return reused_arena(inst, ts, avoid_arena);
    }
}

pt_arena_t *pt_arena_get_retry(pt_inst_t *inst, pt_tstate_t *ts, pt_arena_t *ar_ptr, size_t bytes)
{
    if (ar_ptr != &inst->main_arena) {
        pt_unlock(&ar_ptr->mutex);
        ar_ptr = &inst->main_arena;
        pt_lock(&ar_ptr->mutex);
    } else {
        pt_unlock(&ar_ptr->mutex);
        ar_ptr = pt_arena_get2(inst, ts, bytes, ar_ptr);
    }
    return ar_ptr;
}

/* ---- per-thread records ---------------------------------------------------- */

static void unlink_tstate(pt_inst_t *inst, pt_tstate_t *s)
{
    mallet_lock(&inst->ts_lock);
    if (s->prev)
        s->prev->next = s->next;
    else if (inst->ts_head == s)
        inst->ts_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    mallet_unlock(&inst->ts_lock);
}

/* Thread exit: for every live instance, glibc's tcache_thread_shutdown and
 * arena_thread_freeres. */
static void thread_exit(void *arg)
{
    struct pt_thread *t = arg;
    if (t == NULL)
        return;
    mallet_lock(&insts_lock);
    for (unsigned i = 0; i < PT_MAX_INSTANCES; i++) {
        pt_inst_t *inst = insts[i];
        pt_tstate_t *s = &t->st[i];
        if (inst == NULL || s->gen != inst->gen)
            continue;
        if (!inst->poisoned)
            pt_tcache_thread_shutdown(inst, s);
        pt_arena_t *a = s->arena;
        s->arena = NULL;
        if (a != NULL) {
            mallet_lock(&inst->free_list_lock);
            if (a->attached_threads > 0 && --a->attached_threads == 0) {
                a->next_free = inst->free_list;
                __atomic_store_n(&inst->free_list, a, __ATOMIC_RELAXED);
            }
            mallet_unlock(&inst->free_list_lock);
        }
        unlink_tstate(inst, s);
        s->gen = 0;
    }
    mallet_unlock(&insts_lock);
    pt_last.gen = 0;
    pt_last.ts = NULL;
    pt_self = NULL;
    pt_self_dead = 1;
    mallet_os_unmap(t, PT_ALIGN_UP(sizeof *t, mallet_os_page_size()));
}

static void make_key(void)
{
    mallet_os_tls_key_create(&thread_key, thread_exit);
}

pt_tstate_t *pt_tstate_lookup(const pt_inst_t *inst)
{
    struct pt_thread *t = pt_self;
    if (t == NULL || t->st[inst->slot].gen != inst->gen)
        return NULL;
    pt_last.ts = &t->st[inst->slot];
    pt_last.gen = inst->gen;
    return pt_last.ts;
}

pt_tstate_t *pt_tstate_slow(pt_inst_t *inst)
{
    struct pt_thread *t = pt_self;
    if (t == NULL) {
        if (pt_self_dead)
            return NULL; /* thread exit already ran: no tcache, no thread arena */
        pthread_once(&thread_key_once, make_key);
        t = mallet_os_map(NULL, PT_ALIGN_UP(sizeof *t, mallet_os_page_size()), MALLET_PROT_RW);
        if (t == NULL)
            return NULL;
        pt_self = t;
        mallet_os_tls_set(&thread_key, t);
    }
    pt_tstate_t *s = &t->st[inst->slot];
    memset(s, 0, sizeof *s);
    s->gen = inst->gen;
    mallet_lock(&inst->ts_lock);
    s->next = inst->ts_head;
    if (s->next)
        s->next->prev = s;
    inst->ts_head = s;
    mallet_unlock(&inst->ts_lock);
    pt_last.ts = s;
    pt_last.gen = inst->gen;
    return s;
}

int pt_inst_register(pt_inst_t *inst)
{
    mallet_lock(&insts_lock);
    for (unsigned i = 0; i < PT_MAX_INSTANCES; i++) {
        if (insts[i] == NULL) {
            insts[i] = inst;
            inst->slot = i;
            inst->gen = next_gen++;
            mallet_unlock(&insts_lock);
            return 0;
        }
    }
    mallet_unlock(&insts_lock);
    return ENOMEM;
}

void pt_inst_unregister(pt_inst_t *inst)
{
    mallet_lock(&insts_lock);
    if (insts[inst->slot] == inst)
        insts[inst->slot] = NULL;
    mallet_unlock(&insts_lock);
    if (pt_self && pt_self->st[inst->slot].gen == inst->gen)
        pt_self->st[inst->slot].gen = 0;
    if (pt_last.gen == inst->gen) {
        pt_last.gen = 0;
        pt_last.ts = NULL;
    }
}

/* ---- locks for fork and introspection ------------------------------------- */

void pt_lock_all(pt_inst_t *inst)
{
    mallet_lock(&inst->list_lock);
    for (pt_arena_t *a = &inst->main_arena; a != NULL; a = pt_arena_next(a))
        pt_lock(&a->mutex);
}

void pt_unlock_all(pt_inst_t *inst)
{
    for (pt_arena_t *a = &inst->main_arena; a != NULL; a = pt_arena_next(a))
        pt_unlock(&a->mutex);
    mallet_unlock(&inst->list_lock);
}

void pt_fork_lock(pt_inst_t *inst)
{
    mallet_lock(&inst->free_list_lock);
    pt_lock_all(inst);
    mallet_lock(&inst->map_lock);
    mallet_lock(&inst->ts_lock);
}

void pt_fork_unlock(pt_inst_t *inst)
{
    mallet_unlock(&inst->ts_lock);
    mallet_unlock(&inst->map_lock);
    pt_unlock_all(inst);
    mallet_unlock(&inst->free_list_lock);
}

/* Child after fork: only this thread exists. Every arena but its own goes
 * on the free list (glibc __malloc_fork_unlock_child). */
void pt_fork_reinit(pt_inst_t *inst)
{
    pt_tstate_t *ts = (pt_self && pt_self->st[inst->slot].gen == inst->gen) ? &pt_self->st[inst->slot] : NULL;
    pt_arena_t *mine = ts ? ts->arena : NULL;
    mallet_lock_reinit(&inst->free_list_lock);
    mallet_lock_reinit(&inst->map_lock);
    mallet_lock_reinit(&inst->ts_lock);
    if (mine)
        mine->attached_threads = 1;
    inst->free_list = NULL;
    for (pt_arena_t *a = &inst->main_arena; a != NULL; a = pt_arena_next(a)) {
        pt_lock_init(&a->mutex);
        if (a != mine) {
            a->attached_threads = 0;
            a->next_free = inst->free_list;
            inst->free_list = a;
        }
    }
    mallet_lock_reinit(&inst->list_lock);
}
