/*
 * os/os.h — mallet's platform layer: the only place that talks to the OS.
 *
 * Backends never call mmap, madvise, sched_getcpu, getrandom or getenv
 * themselves; they call these primitives. Each says what it promises.
 * Functions returning int give 0 on success or an errno value.
 *
 * Linux mapping of Apple's VM (ALLOCATOR_REFERENCE.md §E.3):
 *   mach_vm_map with an alignment mask  -> mmap of size+align, trim both ends
 *   fixed-address allocation            -> MAP_FIXED_NOREPLACE (never clobbers)
 *   MADV_FREE_REUSABLE                  -> MADV_FREE (falls back to MADV_DONTNEED)
 *   commpage CPU number                 -> rseq cpu_id registered by glibc, else sched_getcpu
 *   malloc_entropy                      -> getrandom()
 *   os_unfair_lock                      -> pthread mutex (TSan understands it)
 *
 * Nothing here allocates with malloc: the drop-in library calls it while
 * it *is* malloc.
 */
#ifndef MALLET_OS_H
#define MALLET_OS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- machine facts (cached after first call) ---------------------------- */
size_t mallet_os_page_size(void);
uint64_t mallet_os_physical_memory(void);   /* bytes of RAM */
unsigned mallet_os_cpu_count(void);         /* logical CPUs online */
unsigned mallet_os_physical_cpu_count(void);/* cores (hyper-threads folded) */
/* Current CPU: rseq's cpu_id where the C library registered rseq, else
 * sched_getcpu(); 0 if neither works. Cheap enough for every allocation. */
unsigned mallet_os_current_cpu(void);
/* The same, inline: with rseq registered it is one load from the thread
 * pointer (no call), for allocator fast paths. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
static inline unsigned mallet_os_current_cpu_inline(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
    if (&__rseq_size != NULL && __rseq_size >= 8) {
        /* struct rseq { u32 cpu_id_start; u32 cpu_id; ... } at tp + offset. */
        int32_t cpu = ((const volatile int32_t *)((char *)__builtin_thread_pointer() + __rseq_offset))[1];
        if (cpu >= 0)
            return (unsigned)cpu;
    }
#endif
    return mallet_os_current_cpu();
}

/* ---- virtual memory --------------------------------------------------------
 * Protection for reserve/protect. */
enum { MALLET_PROT_NONE = 0, MALLET_PROT_READ = 1, MALLET_PROT_RW = 3 };

/* Map `size` bytes (page multiple) aligned to `align` (power of two >= page)
 * with protection `prot`. Anywhere in the address space. NULL + errno. */
void *mallet_os_map_aligned(size_t size, size_t align, int prot);
/* Map exactly at `addr` (page aligned) without replacing any existing
 * mapping (MAP_FIXED_NOREPLACE). NULL + errno (EEXIST if taken). */
void *mallet_os_map_fixed(void *addr, size_t size, int prot);
/* Map anywhere, with an address hint that may be ignored. */
void *mallet_os_map(void *hint, size_t size, int prot);
int mallet_os_unmap(void *addr, size_t size);
int mallet_os_protect(void *addr, size_t size, int prot);
/* Give pages back but keep the mapping. Lazy: MADV_FREE (contents may
 * survive until reclaimed); eager: MADV_DONTNEED (reads give zeros). */
enum { MALLET_DECOMMIT_LAZY = 0, MALLET_DECOMMIT_EAGER = 1 };
int mallet_os_decommit(void *addr, size_t size, int how);
/* Resize a mapping, possibly moving it (mremap). NULL + errno. */
void *mallet_os_remap(void *addr, size_t old_size, size_t new_size, bool may_move);
/* Name an anonymous mapping (PR_SET_VMA_ANON_NAME, Linux 5.17+). Best effort. */
void mallet_os_name_mapping(void *addr, size_t size, const char *name);

/* Counters of VM calls made through this layer (for the harness). */
typedef struct mallet_os_counters {
    uint64_t maps, unmaps, decommits, protects, remaps, map_failures;
    uint64_t bytes_mapped; /* currently mapped through this layer */
} mallet_os_counters_t;
void mallet_os_get_counters(mallet_os_counters_t *out);

/* Failure injection for fault tests: after `countdown` more successful
 * maps, every map (and every protect to read-write, which commits reserved
 * memory) fails with ENOMEM until reset with -1 (off). */
void mallet_os_inject_map_failures(long countdown);

/* ---- entropy, time, environment, output ------------------------------------ */
/* Fill buf with random bytes (getrandom; falls back to AT_RANDOM mixing). */
void mallet_os_random(void *buf, size_t len);
uint64_t mallet_os_random64(void);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
/* Fuzz builds only: from now on, entropy is a splitmix64 stream from `seed`
 * (a fuzz target seeds it from each input, so zone cookies, keys and
 * slides are a function of the input and a rerun takes the same paths:
 * AFL++ counts any difference as instability). Never compiled into other
 * builds, where the entropy stays the kernel's. */
void mallet_os_random_fuzz_seed(uint64_t seed);
#endif
uint64_t mallet_os_now_ns(void);             /* CLOCK_MONOTONIC */
/* getenv that is safe before libc is fully up; NULL in setuid processes
 * when `trusted_only` (AT_SECURE), as libmalloc and glibc ignore env then. */
const char *mallet_os_getenv(const char *name, bool trusted_only);
bool mallet_os_is_secure(void);              /* getauxval(AT_SECURE) */
/* write(2) everything, retrying on EINTR. */
void mallet_os_write(int fd, const char *buf, size_t len);
/* printf to fd through a stack buffer; never allocates. */
void mallet_os_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mallet_os_vprintf(int fd, const char *fmt, va_list ap);
/* Program name (from /proc/self/comm or program_invocation_short_name). */
const char *mallet_os_program_name(void);
/* After an execve("/proc/self/exe") the kernel names the process "exe"
 * (ps, top, perf): gives it back the name argv[0] says. */
void mallet_os_restore_exec_name(void);
uint64_t mallet_os_thread_id(void);          /* gettid() */
void mallet_os_yield(void);
void mallet_os_sleep_ms(unsigned ms);
/* Resident set size of this process in bytes (from /proc/self/statm). */
size_t mallet_os_rss(void);
/* Peak resident set size of this process image in bytes (VmHWM from
 * /proc/self/status; an exec starts it afresh, unlike getrusage's
 * ru_maxrss, which keeps the pre-exec image's peak). 0 if unknown. */
size_t mallet_os_peak_rss(void);

/* ---- locks -----------------------------------------------------------------
 * A mutex that never allocates and that TSan understands. Static
 * initialisation with MALLET_LOCK_INIT. */
typedef struct mallet_lock { pthread_mutex_t m; } mallet_lock_t;
#define MALLET_LOCK_INIT { PTHREAD_MUTEX_INITIALIZER }
static inline void mallet_lock_init(mallet_lock_t *l) { pthread_mutex_init(&l->m, NULL); }
static inline void mallet_lock(mallet_lock_t *l) { pthread_mutex_lock(&l->m); }
static inline bool mallet_trylock(mallet_lock_t *l) { return pthread_mutex_trylock(&l->m) == 0; }
static inline void mallet_unlock(mallet_lock_t *l) { pthread_mutex_unlock(&l->m); }
/* After fork in the child: re-create (the lock may have been held by a
 * thread that does not exist in the child). */
static inline void mallet_lock_reinit(mallet_lock_t *l) { pthread_mutex_init(&l->m, NULL); }

/* ---- threads ---------------------------------------------------------------
 * A per-thread value with a destructor run at thread exit (the hook
 * ptmalloc's tcache and arenas need). Returns 0 or errno. */
typedef struct mallet_tls_key { pthread_key_t key; } mallet_tls_key_t;
int mallet_os_tls_key_create(mallet_tls_key_t *k, void (*destructor)(void *));
void *mallet_os_tls_get(mallet_tls_key_t *k);
void mallet_os_tls_set(mallet_tls_key_t *k, void *value);
/* A futex on a 32-bit word, private to the process (Linux): sleep while
 * *word still holds `expected` (returns at once otherwise, or spuriously);
 * wake up to n sleepers. The one-word locks build on these. */
void mallet_os_futex_wait(uint32_t *word, uint32_t expected);
void mallet_os_futex_wake(uint32_t *word, int n);
/* True when the process has only ever had one thread (glibc's
 * __libc_single_threaded), so locks may be skipped. */
bool mallet_os_single_threaded(void);
/* The same, inline, for lock fast paths: one byte load. glibc 2.32+
 * declares the flag; elsewhere it is a weak reference tested for NULL
 * (a C library without it: always "threaded", locks always taken). The
 * declared form saves the test on every call of the allocators' hot paths. */
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MALLET_OS_HAVE_SINGLE_THREADED 1
#endif
#endif
#ifdef MALLET_OS_HAVE_SINGLE_THREADED
static inline bool mallet_os_single_threaded_inline(void)
{
    return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}
#else
extern char __libc_single_threaded __attribute__((weak));
static inline bool mallet_os_single_threaded_inline(void)
{
    return &__libc_single_threaded != NULL &&
           __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
}
#endif
/* The flag's address (NULL where the C library has none), for a hot path
 * that keeps it and then pays one load per test. */
static inline const char *mallet_os_single_threaded_flag(void)
{
    return &__libc_single_threaded;
}

#ifdef __cplusplus
}
#endif
#endif /* MALLET_OS_H */
