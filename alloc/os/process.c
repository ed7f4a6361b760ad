/*
 * os/process.c — process services: entropy, clocks, environment, output,
 * thread identity and thread-exit keys.
 *
 * The environment is read through a pointer to `environ`, never getenv's
 * locale or allocation paths, so it is usable from the drop-in library
 * while it is being initialised by the first malloc call.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern char *program_invocation_short_name;

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
/* The fuzz stream's position; 0 = not seeded (kernel entropy). A counter,
 * stepped atomically, so a hand-off thread drawing at the same time gets
 * its own value rather than racing on a state word. */
static uint64_t fuzz_stream;

void mallet_os_random_fuzz_seed(uint64_t seed)
{
    __atomic_store_n(&fuzz_stream, seed | 1, __ATOMIC_RELAXED);
}

static bool fuzz_random(void *buf, size_t len)
{
    if (__atomic_load_n(&fuzz_stream, __ATOMIC_RELAXED) == 0)
        return false;
    unsigned char *out = buf;
    while (len > 0) {
        uint64_t z = __atomic_add_fetch(&fuzz_stream, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        size_t n = len < sizeof z ? len : sizeof z;
        memcpy(out, &z, n);
        out += n;
        len -= n;
    }
    return true;
}
#endif

void mallet_os_random(void *buf, size_t len)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (fuzz_random(buf, len))
        return;
#endif
    char *out = buf;
    while (len > 0) {
        ssize_t n = getrandom(out, len, GRND_NONBLOCK);
        if (n > 0) {
            out += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* Early boot or no getrandom: mix AT_RANDOM with the clock. */
        const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
        uint64_t x = mallet_os_now_ns() ^ (uint64_t)(uintptr_t)&len;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            out[i] = (char)(x ^ (at ? at[i % 16] : 0));
        }
        return;
    }
}

uint64_t mallet_os_random64(void)
{
    uint64_t v;
    mallet_os_random(&v, sizeof v);
    return v;
}

uint64_t mallet_os_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool mallet_os_is_secure(void)
{
    return getauxval(AT_SECURE) != 0;
}

const char *mallet_os_getenv(const char *name, bool trusted_only)
{
    if (trusted_only && mallet_os_is_secure())
        return NULL;
    size_t len = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

void mallet_os_write(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

void mallet_os_vprintf(int fd, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        return;
    mallet_os_write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void mallet_os_printf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mallet_os_vprintf(fd, fmt, ap);
    va_end(ap);
}

const char *mallet_os_program_name(void)
{
    return program_invocation_short_name ? program_invocation_short_name : "?";
}

uint64_t mallet_os_thread_id(void)
{
    return (uint64_t)syscall(SYS_gettid);
}

void mallet_os_yield(void)
{
    sched_yield();
}

void mallet_os_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int mallet_os_tls_key_create(mallet_tls_key_t *k, void (*destructor)(void *))
{
    return pthread_key_create(&k->key, destructor);
}

void *mallet_os_tls_get(mallet_tls_key_t *k)
{
    return pthread_getspecific(k->key);
}

void mallet_os_tls_set(mallet_tls_key_t *k, void *value)
{
    pthread_setspecific(k->key, value);
}

void mallet_os_futex_wait(uint32_t *word, uint32_t expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void mallet_os_futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

bool mallet_os_single_threaded(void)
{
    return mallet_os_single_threaded_inline(); /* glibc 2.32+ */
}
