/*
 * test_ptmalloc_glibc_diff.c — differential test: the same long random
 * operation sequence under the system glibc and under the ptmalloc backend
 * (compat mode) must give, op by op, the same usable size and the same
 * place: the offset from the start of the 64 MiB heap holding the block
 * (and which of the arena's heaps it is), or "mmapped" for both.
 *
 * Why a fresh thread: in glibc, a new thread's first malloc gets a brand
 * new arena (a fresh 64 MiB-aligned heap: heap_info, malloc_state, then
 * the thread's tcache as its first chunk) as long as the arena count is
 * under the limit. So the glibc side runs in a fresh thread of a forked
 * child of a process that has created no thread yet (all glibc runs happen
 * before the first ptmalloc run creates one), and the ptmalloc side in a
 * fresh thread of a fresh zone (the creating thread keeps the main arena,
 * so the new thread gets a new non-main arena too). Offsets relative to
 * the heap start are then comparable, and the allocator state is as
 * deterministic as glibc's: the heap is brand new, and the dynamic mmap
 * threshold starts at 128 KiB in both (the parent never frees an mmapped
 * chunk before forking).
 *
 * Two-thread seeds (2000.., --duo N, default 2): the same, with each op
 * tagged for one of two threads run in lockstep (op i starts when op i-1
 * is done), so both sides see one interleaving: two new arenas created in
 * the order of the threads' first calls, and blocks freed by the thread
 * that did not allocate them going to its own tcache and bins. Heap
 * ordinals are counted over both threads.
 *
 * Under ASan or TSan the sanitizer's own allocator replaces glibc's
 * malloc, so there is no glibc to compare with: the glibc side is skipped
 * (loudly) and only the ptmalloc side runs, for the sanitizer's sake.
 *
 * Usage: ptmalloc-glibc-diff [--seeds N] [--duo N] [--ops N] [--pt-opts OPTIONS]
 * (--pt-opts configures the ptmalloc zone, e.g. ptmalloc.tcache_count=6 to
 * see the test fail).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mallet/mallet.h"
#include "support/test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_MALLOC 1
#endif
#endif

#define HEAP_SPAN ((uintptr_t)64 << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define NSLOTS 512
#define MAX_HEAPS 64

enum { OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_MEMALIGN, OP_FREE };
static const char *const op_names[] = {"malloc", "calloc", "realloc", "memalign", "free"};

typedef struct op {
    uint8_t kind;
    uint8_t thread; /* two-thread seeds: which of the two runs it */
    uint16_t slot;
    uint32_t size;
    uint32_t arg; /* calloc: element count (size is the element size); memalign: alignment */
} op_t;

/* Where a result landed. heap: ordinal of its 64 MiB heap in order of first
 * sight; -1 mmapped (off unused), -2 NULL, -3 no result (free), -4 in the
 * main arena (NON_MAIN_ARENA clear: an allocation that failed in the
 * thread's arena and was retried in the main one). The main arena's heap
 * is the process's brk heap under glibc and the zone's emulated brk under
 * ptmalloc, with unrelated starts and histories, so off is unused there. */
typedef struct res {
    uint64_t usable;
    int32_t heap;
    uint32_t off;
} res_t;

/* The operations one side can run: glibc's own or a mallet zone's. */
typedef struct side {
    const char *name;
    mallet_zone_t *z; /* NULL: the system glibc */
    const op_t *ops;
    res_t *res;
    size_t nops;
    int nthreads; /* 1, or 2: the ops' thread fields split them, run in lockstep */
} side_t;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A size over every path: tcache/fastbin, small bins, large bins, big
 * heap blocks and, rarely, blocks over the mmap threshold (whose frees
 * move glibc's dynamic threshold up). big: half the blocks 4 KiB..400 KiB,
 * so that the arena outgrows its first 64 MiB heap. */
static uint32_t pick_size(uint64_t *s, bool big)
{
    uint64_t r = rng_next(s), pct = r % 100, v = r >> 8;
    if (big && pct < 50)
        return 4097 + (uint32_t)(v % 400000);
    if (pct < 35)
        return 1 + (uint32_t)(v % 128);
    if (pct < 60)
        return 129 + (uint32_t)(v % 880);
    if (pct < 80)
        return 1009 + (uint32_t)(v % 3100);
    if (pct < 97)
        return 4097 + (uint32_t)(v % 60000);
    return 65536 + (uint32_t)(v % 300000);
}

/* The sequence is a pure function of the seed: a slot is live when the
 * generator last allocated into it (a side whose allocation failed has
 * already diverged and is reported at that op). Odd seeds alternate
 * phases of 3000 ops that mostly allocate and mostly free, so the heap
 * grows and shrinks (top trimming, heap_trim, consolidation); even seeds
 * stay near half full. Every fourth seed uses big blocks (several heaps). */
static void generate(op_t *ops, size_t n, uint64_t seed)
{
    static const uint32_t aligns[] = {32, 64, 128, 256, 1024, 4096};
    static bool live[NSLOTS];
    memset(live, 0, sizeof live);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&s);
        op_t o = {.slot = (uint16_t)(r % NSLOTS)};
        unsigned pct = (unsigned)((r >> 16) % 100);
        bool draining = (seed & 1) != 0 && (i / 3000) % 2 == 1, big = (seed & 3) == 3;
        if (!live[o.slot] && draining && pct < 80) {
            o.kind = OP_FREE; /* free(NULL): a draining phase mostly leaves empty slots empty */
        } else if (!live[o.slot]) {
            o.size = pick_size(&s, big);
            if (pct < 65) {
                o.kind = OP_MALLOC;
            } else if (pct < 80) {
                o.kind = OP_CALLOC;
                o.arg = 1 + (uint32_t)((r >> 24) % 8);
                o.size = o.size / o.arg + 1;
            } else if (pct < 90) {
                o.kind = OP_MEMALIGN;
                o.arg = aligns[(r >> 24) % (sizeof aligns / sizeof aligns[0])];
            } else {
                o.kind = OP_REALLOC; /* realloc(NULL, n) */
            }
            live[o.slot] = true;
        } else if (pct < ((seed & 1) == 0 ? 65u : draining ? 92u : 25u)) {
            o.kind = OP_FREE;
            live[o.slot] = false;
        } else {
            o.kind = OP_REALLOC;
            o.size = pick_size(&s, big);
        }
        /* runs of a few ops per thread, so each thread's tcache fills and drains */
        o.thread = (uint8_t)((i / (1 + (seed >> 3) % 7) + ((r >> 40) & 1)) & 1);
        ops[i] = o;
    }
}

/* A thread's first call decides whether its tcache is the first chunk of
 * its arena (malloc, calloc, realloc, free create it; glibc 2.36's memalign
 * does not): seed i starts with the i-th allocation kind, so the default
 * four seeds cover all four. */
static void force_first(op_t *o, unsigned i)
{
    static const uint8_t kinds[] = {OP_MALLOC, OP_MEMALIGN, OP_CALLOC, OP_REALLOC};
    o->kind = kinds[i % 4];
    o->arg = o->kind == OP_MEMALIGN ? 64 : o->kind == OP_CALLOC ? 3 : 0;
}

/* A result at the start of a heap (off < FIRST_CHUNK_END) means that heap
 * holds nothing before it: it is new, or was deleted and mapped again. The
 * kernel may put the new mapping at the old address on one side and not on
 * the other (it did: about 1 run in 15 at seed 1003, glibc "heap 2 + 0x40",
 * ptmalloc "heap 1 + 0x40"), so such a result starts a new ordinal on both
 * sides instead of trusting the address. An arena's first heap never has
 * an offset this small (malloc_state comes first), and offsets are still
 * compared. */
#define FIRST_CHUNK_END 0x100

static int heap_ordinal(uintptr_t *bases, int *nbases, uintptr_t base, bool at_start)
{
    for (int i = 0; i < *nbases; i++)
        if (bases[i] == base) {
            if (!at_start)
                return i;
            bases[i] = 1; /* no heap base is odd: forget the old identity */
            break;
        }
    if (*nbases == MAX_HEAPS)
        return MAX_HEAPS;
    bases[*nbases] = base;
    return (*nbases)++;
}

/* Op i of the side, on the shared slots and heap list. */
static void do_op(side_t *sd, size_t i, void **slot, uintptr_t *bases, int *nbases)
{
    mallet_zone_t *z = sd->z;
    const op_t *o = &sd->ops[i];
    void **sp = &slot[o->slot], *p = NULL;
    res_t r = {0, -3, 0};
    switch (o->kind) {
    case OP_MALLOC:
        p = z ? mallet_malloc(z, o->size) : malloc(o->size);
        break;
    case OP_CALLOC:
        p = z ? mallet_calloc(z, o->arg, o->size) : calloc(o->arg, o->size);
        break;
    case OP_MEMALIGN:
        p = z ? mallet_memalign(z, o->arg, o->size) : memalign(o->arg, o->size);
        break;
    case OP_REALLOC:
        p = z ? mallet_realloc(z, *sp, o->size) : realloc(*sp, o->size);
        if (p == NULL)
            p = *sp; /* the old block stays */
        break;
    case OP_FREE:
        if (z)
            mallet_free(z, *sp);
        else
            free(*sp);
        *sp = NULL;
        sd->res[i] = r;
        return;
    }
    *sp = p;
    if (p == NULL) {
        r.heap = -2;
    } else {
        r.usable = z ? mallet_size(z, p) : malloc_usable_size(p);
        size_t head = ((const size_t *)p)[-1];
        if (head & 2) { /* IS_MMAPPED in the chunk header */
            r.heap = -1;
        } else if (!(head & 4)) { /* NON_MAIN_ARENA clear */
            r.heap = -4;
        } else {
            uintptr_t a = (uintptr_t)p;
            r.off = (uint32_t)(a & (HEAP_SPAN - 1));
            r.heap = heap_ordinal(bases, nbases, a & ~(HEAP_SPAN - 1), r.off < FIRST_CHUNK_END);
        }
    }
    sd->res[i] = r;
}

static void *slots[NSLOTS];

static void free_slots(mallet_zone_t *z)
{
    for (int i = 0; i < NSLOTS; i++) {
        if (z)
            mallet_free(z, slots[i]);
        else
            free(slots[i]);
    }
}

static void *run_side(void *arg)
{
    side_t *sd = arg;
    uintptr_t bases[MAX_HEAPS];
    int nbases = 0;
    memset(slots, 0, sizeof slots);
    for (size_t i = 0; i < sd->nops; i++)
        do_op(sd, i, slots, bases, &nbases);
    free_slots(sd->z);
    return NULL;
}

/* Two threads in lockstep: op i runs on thread ops[i].thread once op i-1
 * is done, so both sides see the same interleaving. Each thread's first
 * call gives it a new arena (in the order of those first calls, the same
 * on both sides); blocks freed by the other thread go to this thread's
 * tcache, as in glibc. */
typedef struct duo {
    side_t *sd;
    pthread_mutex_t m;
    pthread_cond_t cv;
    size_t next;
    uintptr_t bases[MAX_HEAPS];
    int nbases;
} duo_t;
typedef struct duo_arg { duo_t *d; int me; } duo_arg_t;

static void *duo_worker(void *arg)
{
    duo_arg_t *a = arg;
    duo_t *d = a->d;
    for (;;) {
        pthread_mutex_lock(&d->m);
        while (d->next < d->sd->nops && d->sd->ops[d->next].thread != a->me)
            pthread_cond_wait(&d->cv, &d->m);
        size_t i = d->next;
        pthread_mutex_unlock(&d->m);
        if (i >= d->sd->nops)
            return NULL;
        do_op(d->sd, i, slots, d->bases, &d->nbases);
        pthread_mutex_lock(&d->m);
        d->next++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->m);
    }
}

static bool run_duo(side_t *sd)
{
    duo_t d = {.sd = sd, .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    duo_arg_t args[2] = {{&d, 0}, {&d, 1}};
    pthread_t th[2];
    memset(slots, 0, sizeof slots);
    if (pthread_create(&th[0], NULL, duo_worker, &args[0]) != 0)
        return false;
    if (pthread_create(&th[1], NULL, duo_worker, &args[1]) != 0) {
        pthread_mutex_lock(&d.m);
        d.next = sd->nops; /* let the first one go */
        pthread_cond_broadcast(&d.cv);
        pthread_mutex_unlock(&d.m);
        pthread_join(th[0], NULL);
        return false;
    }
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    free_slots(sd->z);
    return true;
}

/* Runs the side in a fresh thread of this process. */
static bool run_in_thread(side_t *sd)
{
    if (sd->nthreads == 2)
        return run_duo(sd);
    pthread_t th;
    if (pthread_create(&th, NULL, run_side, sd) != 0)
        return false;
    pthread_join(th, NULL);
    return true;
}

/* The glibc side in a forked child (results through shared memory). */
static bool run_glibc(side_t *sd)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        _exit(run_in_thread(sd) ? 0 : 1);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "glibc side: child status 0x%x\n", st);
        return false;
    }
    return true;
}

static void describe(char *buf, size_t len, const op_t *o, const res_t *r)
{
    int n = snprintf(buf, len, "%s(slot %u, size %u", op_names[o->kind], o->slot, o->size);
    if (o->kind == OP_CALLOC || o->kind == OP_MEMALIGN)
        n += snprintf(buf + n, len - (size_t)n, ", %s %u", o->kind == OP_CALLOC ? "count" : "align", o->arg);
    n += snprintf(buf + n, len - (size_t)n, ")");
    if (r == NULL)
        return;
    if (r->heap == -2)
        snprintf(buf + n, len - (size_t)n, " -> NULL");
    else if (r->heap == -1)
        snprintf(buf + n, len - (size_t)n, " -> mmapped, usable %llu", (unsigned long long)r->usable);
    else if (r->heap == -4)
        snprintf(buf + n, len - (size_t)n, " -> main arena, usable %llu", (unsigned long long)r->usable);
    else if (r->heap >= 0)
        snprintf(buf + n, len - (size_t)n, " -> heap %d + 0x%x, usable %llu", r->heap, r->off,
                 (unsigned long long)r->usable);
}

static bool same(const res_t *a, const res_t *b)
{
    return a->heap == b->heap && a->usable == b->usable && (a->heap < 0 || a->off == b->off);
}

/* First differing op, with the three before it for context; SIZE_MAX if none. */
static size_t compare(const op_t *ops, const res_t *g, const res_t *m, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        if (same(&g[i], &m[i]))
            continue;
        char a[160], b[160];
        fprintf(stderr, "  seed %llu: first difference at op %zu of %zu\n", (unsigned long long)seed, i, n);
        for (size_t k = i >= 3 ? i - 3 : 0; k < i; k++) {
            describe(a, sizeof a, &ops[k], &g[k]);
            fprintf(stderr, "    op %zu: %s (same in both)\n", k, a);
        }
        describe(a, sizeof a, &ops[i], &g[i]);
        describe(b, sizeof b, &ops[i], &m[i]);
        fprintf(stderr, "    op %zu glibc:    %s\n    op %zu ptmalloc: %s\n", i, a, i, b);
        return i;
    }
    return SIZE_MAX;
}

/* What a run went through, so a pass is seen to cover something. */
static void summarize(const res_t *r, size_t n, uint64_t seed)
{
    size_t mmapped = 0, nulls = 0, mains = 0;
    int heaps = 0;
    uint32_t hi = 0;
    for (size_t i = 0; i < n; i++) {
        mmapped += r[i].heap == -1;
        nulls += r[i].heap == -2;
        mains += r[i].heap == -4;
        if (r[i].heap >= heaps)
            heaps = r[i].heap + 1;
        if (r[i].heap == 0 && r[i].off > hi)
            hi = r[i].off;
    }
    printf("seed %llu: %zu mmapped results, %zu NULL, %zu from the main arena, %d heap(s), highest offset in "
           "the first 0x%x\n",
           (unsigned long long)seed, mmapped, nulls, mains, heaps, hi);
}

static void *shared_map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
    unsigned nseeds = 4, nduo = 2;
    size_t nops = 25000;
    const char *pt_opts = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            nseeds = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--duo") == 0 && i + 1 < argc)
            nduo = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            nops = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--pt-opts") == 0 && i + 1 < argc)
            pt_opts = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--seeds N] [--duo N] [--ops N] [--pt-opts OPTIONS]\n", argv[0]);
            return 2;
        }
    }
    const mallet_backend_t *be = mallet_backend_find("ptmalloc");
    if (be == NULL) {
        printf("SKIP: ptmalloc backend not built\n");
        return 77;
    }
    bool glibc = true;
#ifdef SANITIZER_MALLOC
    glibc = false;
    TEST_SKIP("ptmalloc-glibc-diff (glibc side)",
              "!!! this build's malloc is the sanitizer's allocator, not glibc: nothing to compare with; "
              "running the ptmalloc side only");
#endif
    /* glibc reads these at start-up; our zone would not: the sides would differ for that reason alone */
    static const char *const env[] = {"GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_ARENA_TEST", "MALLOC_MMAP_MAX_",
                                      "MALLOC_MMAP_THRESHOLD_", "MALLOC_PERTURB_", "MALLOC_TOP_PAD_",
                                      "MALLOC_TRIM_THRESHOLD_", "MALLOC_CHECK_"};
    for (size_t i = 0; glibc && i < sizeof env / sizeof env[0]; i++) {
        const char *v = getenv(env[i]);
        if (v && *v && (i > 0 || strstr(v, "glibc.malloc."))) {
            printf("SKIP glibc side: %s is set in the environment\n", env[i]);
            glibc = false;
            test_skipped++;
        }
    }

    /* seeds 1000.. run in one thread, 2000.. in two (--duo) */
    unsigned nall = nseeds + nduo;
    if (nall > 64)
        nall = 64;
#define SEED(s) ((s) < nseeds ? 1000 + (s) : 2000 + ((s) - nseeds))
#define THREADS(s) ((s) < nseeds ? 1 : 2)
    op_t *ops = shared_map(nall * nops * sizeof(op_t));
    res_t *gres = shared_map(nall * nops * sizeof(res_t));
    res_t *mres = shared_map(nall * nops * sizeof(res_t));
    if (!ops || !gres || !mres) {
        fprintf(stderr, "cannot map %zu ops\n", nall * nops);
        return 1;
    }
    for (unsigned s = 0; s < nall; s++) {
        generate(ops + s * nops, nops, SEED(s));
        force_first(ops + s * nops, s);
    }

    /* Every glibc run first: a fork must come from a process without threads
     * (a child's other arenas would otherwise be on glibc's free list). */
    bool gok[64] = {false};
    for (unsigned s = 0; glibc && s < nall; s++)
        gok[s] = run_glibc(&(side_t){"glibc", NULL, ops + s * nops, gres + s * nops, nops, THREADS(s)});

    for (unsigned s = 0; s < nall; s++) {
        char name[112];
        snprintf(name, sizeof name, "seed %u: %zu ops in %d thread(s), glibc and ptmalloc agree op by op", SEED(s),
                 nops, THREADS(s));
        TEST_CASE(name)
        {
            char err[256] = "";
            mallet_zone_t *z = be->create_zone(pt_opts, err, sizeof err);
            CHECK_MSG(z != NULL, "create_zone: %s", err);
            if (z != NULL) {
                (void)mallet_malloc(z, 1); /* this thread takes the main arena */
                CHECK(run_in_thread(&(side_t){"ptmalloc", z, ops + s * nops, mres + s * nops, nops, THREADS(s)}));
                CHECK(mallet_check(z));
                mallet_zone_destroy(z);
            }
            if (glibc && z != NULL) {
                CHECK_MSG(gok[s], "the glibc side did not complete");
                size_t at = gok[s] ? compare(ops + s * nops, gres + s * nops, mres + s * nops, nops, SEED(s)) : 0;
                CHECK_MSG(at == SIZE_MAX, "mismatch at op %zu", at);
                summarize(mres + s * nops, nops, SEED(s));
            }
        }
    }
    return test_summary();
}
