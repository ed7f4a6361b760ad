/*
 * test_ptmalloc_threads.c — threads and arenas: each new thread gets its
 * own arena (64 MiB-aligned heap, NON_MAIN_ARENA chunks), exited threads'
 * arenas are reused from the free list, arena_max caps the count,
 * cross-thread frees land correctly, fastbin frees pushed without the
 * lock race the owner's pops, thread exit flushes the tcache (and
 * reports a damaged one), and fork works with the zone's locks.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pt_test_util.h"

typedef struct targ {
    mallet_zone_t *z;
    void **ring;
    int n, id, errors;
    void *first;
} targ_t;

static void *worker(void *arg)
{
    targ_t *t = arg;
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(t->id + 1);
    t->first = mallet_malloc(t->z, 64);
    for (int i = 0; i < 30000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t sz = (x >> 40) % 8 == 0 ? 1000 + (x >> 20) % 200000 : 8 + (x >> 20) % 700;
        unsigned char *p = mallet_malloc(t->z, sz);
        if (!p) {
            t->errors++;
            continue;
        }
        p[0] = (unsigned char)t->id;
        p[sz - 1] = (unsigned char)t->id;
        int k = (int)((x >> 33) % (uint64_t)t->n);
        void *old = __atomic_exchange_n(&t->ring[k], p, __ATOMIC_ACQ_REL);
        mallet_free(t->z, old); /* often another thread's block */
    }
    return NULL;
}

static void run_workers(mallet_zone_t *z, int nthreads, targ_t *args)
{
    enum { RING = 512 };
    static void *ring[RING];
    memset(ring, 0, sizeof ring);
    pthread_t th[16];
    for (int i = 0; i < nthreads; i++) {
        args[i] = (targ_t){z, ring, RING, i, 0, NULL};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < RING; i++)
        mallet_free(z, ring[i]);
}

static void test_arenas(void)
{
    TEST_CASE("eight threads get their own arenas; cross-thread frees keep the heap consistent")
    {
        mallet_zone_t *z = fresh(NULL);
        pt_inst_t *inst = PT_INST(z);
        targ_t args[8];
        run_workers(z, 8, args);
        int errors = 0;
        for (int i = 0; i < 8; i++)
            errors += args[i].errors;
        CHECK_EQ(errors, 0);
        CHECK_MSG(inst->narenas > 1, "narenas %zu", inst->narenas);
        int non_main = 0;
        for (int i = 0; i < 8; i++) {
            void *p = args[i].first;
            if (!(SIZE_FIELD(p) & PT_NON_MAIN_ARENA))
                continue;
            non_main++;
            pt_heap_info_t *h = pt_heap_for_ptr(p);
            CHECK(((uintptr_t)h & (PT_HEAP_MAX_SIZE - 1)) == 0);
            CHECK(h->ar_ptr != &inst->main_arena);
            CHECK(pt_heap_known(inst, (uintptr_t)h));
        }
        CHECK(non_main >= 1);
        CHECK(mallet_check(z));
        size_t before = inst->narenas;
        run_workers(z, 4, args); /* exited threads left their arenas on the free list */
        CHECK_EQ(inst->narenas, before);
        CHECK(mallet_check(z));
        for (int i = 0; i < 8; i++)
            mallet_free(z, args[i].first);
        mallet_zone_stats_t s;
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 4); /* the four firsts of the second run */
        mallet_zone_destroy(z);
    }
    TEST_CASE("arena_max caps the number of arenas")
    {
        mallet_zone_t *z = fresh("ptmalloc.arena_max=2");
        targ_t args[8];
        run_workers(z, 8, args);
        CHECK_MSG(PT_INST(z)->narenas <= 2, "narenas %zu", PT_INST(z)->narenas);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
}

static void *shutdown_corrupt(void *arg)
{
    mallet_zone_t *z = arg;
    void *p = mallet_malloc(z, 24), *q = mallet_malloc(z, 24);
    mallet_free(z, p);
    mallet_free(z, q);
    HDR(q)[0] = (size_t)PT_PROTECT_PTR(&HDR(q)[0], (void *)((char *)p + 8));
    return NULL;
}

static void *alloc_and_exit(void *arg)
{
    mallet_zone_t *z = arg;
    for (int i = 0; i < 7; i++)
        mallet_free(z, mallet_malloc(z, 100));
    return mallet_malloc(z, 100);
}

static void test_thread_exit(void)
{
    TEST_CASE("thread exit flushes the tcache into the arena")
    {
        mallet_zone_t *z = fresh(NULL);
        pthread_t th;
        void *p = NULL;
        pthread_create(&th, NULL, alloc_and_exit, z);
        pthread_join(th, &p);
        mallet_zone_stats_t s;
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 1);
        mallet_free(z, p); /* freed by a thread that does not own its arena */
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 0);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
    TEST_CASE("a damaged tcache at thread exit is reported")
    {
        mallet_zone_t *z = fresh(NULL);
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        pthread_t th;
        pthread_create(&th, NULL, shutdown_corrupt, z);
        pthread_join(th, NULL);
        mallet_error_set_handler(old, NULL);
        CHECK_EQ(rec.count, 1);
        CHECK_MSG(strcmp(rec.message, "tcache_thread_shutdown(): unaligned tcache chunk detected") == 0, "got '%s'",
                  rec.message);
        mallet_zone_destroy(z);
    }
    TEST_CASE("threaded fastbin pop checks the next link")
    {
        mallet_zone_t *z = fresh("ptmalloc.tcache_count=0");
        rec_reset();
        mallet_error_handler_t old = mallet_error_set_handler(record_handler, NULL);
        void *a = mallet_malloc(z, 24), *b = mallet_malloc(z, 24), *g = mallet_malloc(z, 24);
        mallet_free(z, a);
        mallet_free(z, b);
        HDR(b)[0] = (size_t)PT_PROTECT_PTR(&HDR(b)[0], (void *)((char *)a + 8));
        (void)mallet_malloc(z, 24);
        mallet_error_set_handler(old, NULL);
        CHECK_MSG(strcmp(rec.message, "malloc(): unaligned fastbin chunk detected") == 0, "got '%s'", rec.message);
        (void)g;
        mallet_zone_destroy(z);
    }
}

/* Fastbin frees without the arena lock (glibc 2.36's lock-free push) racing
 * the owner's pops and consolidations: the owner allocates small tagged
 * blocks into a shared ring, three other threads take them out and free
 * them; no tcache, so every free is a fastbin push onto the owner's arena. */
enum { FB_RING = 256, FB_ROUNDS = 200000 };
typedef struct fb_shared {
    mallet_zone_t *z;
    void *ring[FB_RING];
    int stop, bad;
} fb_shared_t;

static void *fb_freer(void *arg)
{
    fb_shared_t *sh = arg;
    unsigned k = 0;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        unsigned char *p = __atomic_exchange_n(&sh->ring[k++ % FB_RING], NULL, __ATOMIC_ACQ_REL);
        if (p == NULL)
            continue;
        if (p[0] != (unsigned char)(p[1] ^ 0x5a))
            __atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
        mallet_free(sh->z, p);
    }
    return NULL;
}

static void test_fastbin_push(void)
{
    TEST_CASE("fastbin frees from other threads race the owner's pops and consolidations")
    {
        static fb_shared_t sh;
        memset(&sh, 0, sizeof sh);
        sh.z = fresh("ptmalloc.tcache_count=0");
        pthread_t th[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&th[i], NULL, fb_freer, &sh);
        uint64_t x = 12345;
        int failed = 0;
        for (int i = 0; i < FB_ROUNDS; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            if (i % 1024 == 0) { /* a large request consolidates the fastbins */
                void *big = mallet_malloc(sh.z, 1500);
                failed += big == NULL;
                mallet_free(sh.z, big);
            }
            size_t sz = 16 + (x >> 40) % 100;
            unsigned char *p = mallet_malloc(sh.z, sz);
            if (p == NULL) {
                failed++;
                continue;
            }
            p[1] = (unsigned char)(x >> 20);
            p[0] = (unsigned char)(p[1] ^ 0x5a);
            void *old = __atomic_exchange_n(&sh.ring[(x >> 33) % FB_RING], p, __ATOMIC_ACQ_REL);
            mallet_free(sh.z, old); /* sometimes the owner frees too */
        }
        __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
        for (int i = 0; i < 3; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < FB_RING; i++)
            mallet_free(sh.z, sh.ring[i]);
        CHECK_EQ(failed, 0);
        CHECK_EQ(sh.bad, 0);
        CHECK(mallet_check(sh.z));
        mallet_zone_stats_t s;
        mallet_statistics(sh.z, &s);
        CHECK_EQ(s.blocks_in_use, 0);
        mallet_zone_destroy(sh.z);
    }
}

static void *grow_arena(void *arg)
{
    mallet_zone_t *z = arg;
    enum { N = 1400 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = mallet_malloc(z, 100000); /* 140 MB: three heaps */
    pt_arena_t *av = pt_heap_for_ptr(p[0])->ar_ptr;
    int heaps = 0;
    for (pt_heap_info_t *h = pt_heap_for_ptr(av->top); h; h = h->prev)
        heaps++;
    bool ok = heaps >= 3 && mallet_check(z);
    for (int i = N - 1; i >= 0; i--)
        mallet_free(z, p[i]);
    heaps = 0;
    for (pt_heap_info_t *h = pt_heap_for_ptr(av->top); h; h = h->prev)
        heaps++;
    /* The last heap goes away; the one before it stays when the heap below
     * has less slack than top_pad (glibc's heap_trim rule), trimmed to top_pad. */
    ok = ok && heaps <= 2 && av->system_mem < 70 * 1024 * 1024;
    ok = ok && mallet_check(z);
    return (void *)(uintptr_t)ok;
}

static void *random_ops(void *arg)
{
    mallet_zone_t *z = arg;
    enum { N = 300 };
    void *p[N] = {0};
    size_t sz[N] = {0};
    uint64_t x = (uint64_t)(uintptr_t)&p;
    bool ok = true;
    for (int i = 0; i < 40000 && ok; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((x >> 33) % N);
        size_t n = (x >> 50) % 4 == 0 ? (x >> 12) % 300000 : (x >> 12) % 2000;
        unsigned op = (unsigned)(x >> 28) % 5;
        if (p[k]) {
            for (size_t j = 0; j < sz[k]; j += 97)
                ok = ok && ((unsigned char *)p[k])[j] == (unsigned char)(k + j);
        }
        if (op == 0 && p[k]) {
            mallet_free(z, p[k]);
            p[k] = NULL;
            continue;
        }
        void *q;
        if (op == 1 && p[k])
            q = mallet_realloc(z, p[k], n + 1);
        else if (op == 2)
            q = mallet_memalign(z, (size_t)64 << ((x >> 8) % 8), n);
        else if (op == 3)
            q = mallet_calloc(z, 1, n);
        else
            q = mallet_malloc(z, n);
        if (!q) {
            ok = false;
            break;
        }
        if (op == 3)
            for (size_t j = 0; j < n; j += 61)
                ok = ok && ((unsigned char *)q)[j] == 0;
        if (op != 1 && p[k])
            mallet_free(z, p[k]);
        if (op == 1 && n + 1 < sz[k])
            sz[k] = n + 1;
        else
            sz[k] = n;
        if (op == 1)
            sz[k] = n + 1 < sz[k] ? n + 1 : sz[k];
        p[k] = q;
        for (size_t j = 0; j < n; j += 97) /* the positions checked above */
            ((unsigned char *)q)[j] = (unsigned char)(k + j);
        sz[k] = n;
    }
    for (int k = 0; k < N; k++)
        mallet_free(z, p[k]);
    return (void *)(uintptr_t)ok;
}

static void test_heaps_and_random(void)
{
    TEST_CASE("a thread's arena grows over several 64 MiB heaps; freeing drops the empty ones (heap_trim)")
    {
        mallet_zone_t *z = fresh(NULL);
        pthread_t th;
        void *ok = NULL;
        pthread_create(&th, NULL, grow_arena, z);
        pthread_join(th, &ok);
        CHECK(ok != NULL);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
    TEST_CASE("random malloc/calloc/realloc/memalign/free in four threads keep contents; check() passes")
    {
        mallet_zone_t *z = fresh(NULL);
        pthread_t th[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&th[i], NULL, random_ops, z);
        void *ok = (void *)1;
        for (int i = 0; i < 4; i++) {
            void *r = NULL;
            pthread_join(th[i], &r);
            if (!r)
                ok = NULL;
        }
        CHECK(ok != NULL);
        CHECK(mallet_check(z));
        mallet_zone_stats_t s;
        mallet_statistics(z, &s);
        CHECK_EQ(s.blocks_in_use, 0);
        mallet_zone_destroy(z);
    }
}

static void test_fork(void)
{
    TEST_CASE("fork with the zone locked; the child allocates after reinit")
    {
        mallet_zone_t *z = fresh(NULL);
        void *p = mallet_malloc(z, 1000);
        z->introspect->force_lock(z);
        pid_t pid = fork();
        if (pid == 0) {
            z->introspect->reinit_lock(z);
            void *q = mallet_malloc(z, 5000);
            mallet_free(z, p);
            mallet_free(z, q);
            _exit(mallet_check(z) ? 0 : 3);
        }
        z->introspect->force_unlock(z);
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        mallet_free(z, p);
        CHECK(mallet_check(z));
        mallet_zone_destroy(z);
    }
}

int main(void)
{
    test_arenas();
    test_thread_exit();
    test_fastbin_push();
    test_heaps_and_random();
    test_fork();
    return test_summary();
}
