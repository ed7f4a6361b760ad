/*
 * tests/preload/preload_workload.c — an ordinary program (it knows nothing
 * of mallet) run under LD_PRELOAD=libmallet.so by test_preload.sh. It uses
 * the whole malloc family from several threads, forks (a child that
 * allocates after fork must not deadlock), and checks every result, so a
 * drop-in that misroutes a call or returns a bad block fails here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dlfcn.h>

#include "mallet/backend.h"
#include "mallet/zone.h"

static int failures;
#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "preload_workload: %s:%d: %s\n", __FILE__, __LINE__, #c); \
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);                  \
        }                                                                         \
    } while (0)

/* Through a volatile so the compiler cannot see (and refuse) the
 * impossible sizes at compile time. */
static volatile size_t huge = SIZE_MAX;

static void family(unsigned seed)
{
    void *p = NULL;
    CHECK(posix_memalign(&p, 4096, 100) == 0 && ((uintptr_t)p & 4095) == 0);
    free(p);
    CHECK(posix_memalign(&p, 3, 100) == EINVAL);
    p = aligned_alloc(64, 640);
    CHECK(p && ((uintptr_t)p & 63) == 0);
    free(p);
    p = memalign(256, 10);
    CHECK(p && ((uintptr_t)p & 255) == 0);
    free(p);
    p = valloc(10);
    CHECK(p && ((uintptr_t)p & 4095) == 0);
    free(p);
    p = pvalloc(10);
    CHECK(p && ((uintptr_t)p & 4095) == 0 && malloc_usable_size(p) >= 4096);
    free(p);
    unsigned char *c = calloc(1000, 3);
    CHECK(c != NULL);
    for (int i = 0; c && i < 3000; i++)
        CHECK(c[i] == 0);
    free(c);
    errno = 0;
    CHECK(calloc(huge / 2, 4) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(malloc(huge - 10) == NULL && errno == ENOMEM);
    CHECK(reallocarray(NULL, huge / 2, 4) == NULL);

    /* A churn of growing and shrinking blocks with content checks. */
    enum { N = 512 };
    unsigned char *blk[N] = {0};
    size_t len[N] = {0};
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        if (blk[i]) {
            for (size_t k = 0; k < len[i]; k += 61)
                CHECK(blk[i][k] == (unsigned char)(i + k));
        }
        size_t n = (seed >> 4) % 8 == 0 ? (seed >> 12) % 300000 : (seed >> 12) % 600;
        if ((seed >> 20) % 3 == 0) {
            free(blk[i]);
            blk[i] = NULL;
            len[i] = 0;
            continue;
        }
        unsigned char *q = realloc(blk[i], n + 1);
        CHECK(q != NULL);
        if (!q)
            continue;
        CHECK(malloc_usable_size(q) >= n + 1);
        size_t keep = len[i] < n + 1 ? len[i] : n + 1;
        for (size_t k = 0; k < keep; k += 61)
            CHECK(q[k] == (unsigned char)(i + k));
        for (size_t k = 0; k < n + 1; k++)
            q[k] = (unsigned char)(i + k);
        blk[i] = q;
        len[i] = n + 1;
    }
    for (int i = 0; i < N; i++)
        free(blk[i]);
}

static void *thread_main(void *arg)
{
    family((unsigned)(uintptr_t)arg);
    return NULL;
}

/* Which backend serves this process: libmallet.so exports Apple's
 * malloc_default_zone(); without the drop-in there is none. */
static const char *serving_backend(void)
{
    mallet_zone_t *(*def)(void) = (mallet_zone_t * (*)(void)) dlsym(RTLD_DEFAULT, "malloc_default_zone");
    if (def == NULL)
        return "none (libmallet.so not loaded)";
    mallet_zone_t *z = def();
    return z && z->backend ? z->backend->id : "?";
}

int main(void)
{
    printf("preload_workload: served by %s\n", serving_backend());
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)(i + 1)) == 0);
    /* fork while the other threads allocate: the child must be able to
     * allocate (the drop-in holds the backend's locks across fork). */
    for (int f = 0; f < 3; f++) {
        pid_t pid = fork();
        if (pid == 0) {
            family(99);
            char *s = strdup("child");
            _exit(s && failures == 0 ? 0 : 1);
        }
        int st = 0;
        CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    family(7);
    printf("preload_workload: %d failures\n", failures);
    return failures ? 1 : 0;
}
