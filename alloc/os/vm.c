/*
 * os/vm.c — address-space primitives over mmap/munmap/madvise/mremap.
 *
 * Aligned mappings: Linux has no alignment argument for mmap (Mach's
 * vm_map has a mask), so we over-map by `align` and unmap both ends.
 * Fixed mappings use MAP_FIXED_NOREPLACE so we never silently replace a
 * mapping someone else owns (nano's 0x6000_0000_0000 range relies on it).
 * Every call is counted so the harness can report mmap/munmap/madvise rates.
 */
#define _GNU_SOURCE
#include "os/os.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static _Atomic uint64_t n_maps, n_unmaps, n_decommits, n_protects, n_remaps, n_failures;
static _Atomic uint64_t bytes_mapped;
static _Atomic long fail_countdown = -1;

static int to_prot(int prot)
{
    switch (prot) {
    case MALLET_PROT_NONE: return PROT_NONE;
    case MALLET_PROT_READ: return PROT_READ;
    default: return PROT_READ | PROT_WRITE;
    }
}

void mallet_os_inject_map_failures(long countdown)
{
    atomic_store(&fail_countdown, countdown);
}

/* True if the injector says this map must fail. */
static bool injected_failure(void)
{
    long c = atomic_load(&fail_countdown);
    while (c >= 0) {
        if (c == 0)
            return true;
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return false;
    }
    return false;
}

static void *raw_map(void *addr, size_t size, int prot, int extra_flags)
{
    if (injected_failure()) {
        atomic_fetch_add(&n_failures, 1);
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap(addr, size, to_prot(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra_flags,
                   -1, 0);
    if (p == MAP_FAILED) {
        atomic_fetch_add(&n_failures, 1);
        return NULL;
    }
    atomic_fetch_add(&n_maps, 1);
    atomic_fetch_add(&bytes_mapped, size);
    return p;
}

void *mallet_os_map(void *hint, size_t size, int prot)
{
    return raw_map(hint, size, prot, 0);
}

#if defined(__SANITIZE_THREAD__)
#define MALLET_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MALLET_UNDER_TSAN 1
#endif
#endif

#ifdef MALLET_UNDER_TSAN
/* ThreadSanitizer's application ranges on x86-64 Linux (its shadow and
 * metadata own the rest; 0x7b00_... is its heap, never free). Measured
 * for the gcc 12 and clang 14 runtimes with MAP_FIXED_NOREPLACE probes. */
static bool tsan_app_range(uintptr_t a, size_t size)
{
    static const uintptr_t app[][2] = {
        {0x550000000000ull, 0x568000000000ull}, /* PIE binaries, brk; nano's TSan range */
        {0x7e8000000000ull, 0x800000000000ull}, /* libraries, mmap, stacks */
    };
    for (unsigned i = 0; i < sizeof app / sizeof app[0]; i++)
        if (a >= app[i][0] && a < app[i][1] && size <= app[i][1] - a)
            return true;
    return false;
}
#endif

void *mallet_os_map_fixed(void *addr, size_t size, int prot)
{
#ifdef MALLET_UNDER_TSAN
    /* ThreadSanitizer owns most of the address space (its shadow and meta
     * ranges) and rewrites a fixed-address request outside its application
     * ranges into "anywhere", which then lands at 0 and kills the process.
     * Say no instead: callers fall back (nano stays off, large blocks grow
     * by moving). Inside an application range the request is honoured. */
    if (!tsan_app_range((uintptr_t)addr, size)) {
        errno = ENOTSUP;
        return NULL;
    }
#endif
    void *p = raw_map(addr, size, prot, MAP_FIXED_NOREPLACE);
    if (p != NULL && p != addr) {
        /* Kernels before 4.17 ignore the flag and treat addr as a hint. */
        mallet_os_unmap(p, size);
        errno = EEXIST;
        return NULL;
    }
    return p;
}

void *mallet_os_map_aligned(size_t size, size_t align, int prot)
{
    size_t page = mallet_os_page_size();
    if (align <= page)
        return raw_map(NULL, size, prot, 0);
    if (size + align < size) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = raw_map(NULL, size + align, prot, 0);
    if (p == NULL)
        return NULL;
    uintptr_t start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)p;
    size_t tail = align - head;
    /* Trimming is bookkeeping of one mapping, not a new unmap event. */
    if (head)
        munmap(p, head);
    if (tail)
        munmap((char *)start + size, tail);
    atomic_fetch_sub(&bytes_mapped, head + tail);
    return (void *)start;
}

int mallet_os_unmap(void *addr, size_t size)
{
    if (munmap(addr, size) != 0)
        return errno;
    atomic_fetch_add(&n_unmaps, 1);
    atomic_fetch_sub(&bytes_mapped, size);
    return 0;
}

int mallet_os_protect(void *addr, size_t size, int prot)
{
    atomic_fetch_add(&n_protects, 1);
    /* Making reserved memory accessible is how a reserve-then-commit
     * allocator (ptmalloc's emulated brk) gets memory: it fails under the
     * injector like a map does. */
    if (prot == MALLET_PROT_RW && injected_failure())
        return ENOMEM;
    return mprotect(addr, size, to_prot(prot)) == 0 ? 0 : errno;
}

int mallet_os_decommit(void *addr, size_t size, int how)
{
    atomic_fetch_add(&n_decommits, 1);
    if (how == MALLET_DECOMMIT_LAZY) {
#ifdef MADV_FREE
        if (madvise(addr, size, MADV_FREE) == 0)
            return 0;
        if (errno != EINVAL)
            return errno;
        /* Kernel without MADV_FREE (< 4.5): fall through to DONTNEED. */
#endif
    }
    return madvise(addr, size, MADV_DONTNEED) == 0 ? 0 : errno;
}

void *mallet_os_remap(void *addr, size_t old_size, size_t new_size, bool may_move)
{
    if (new_size > old_size && injected_failure()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mremap(addr, old_size, new_size, may_move ? MREMAP_MAYMOVE : 0);
    if (p == MAP_FAILED)
        return NULL;
    atomic_fetch_add(&n_remaps, 1);
    if (new_size >= old_size)
        atomic_fetch_add(&bytes_mapped, new_size - old_size);
    else
        atomic_fetch_sub(&bytes_mapped, old_size - new_size);
    return p;
}

/* Names are a debugging aid (/proc/PID/maps). A kernel built without
 * CONFIG_ANON_VMA_NAME answers EINVAL to every call, and that is one wasted
 * syscall per mapping (a large block, a region): after the first EINVAL
 * stop asking. */
static atomic_bool naming_unsupported;

void mallet_os_name_mapping(void *addr, size_t size, const char *name)
{
    if (atomic_load_explicit(&naming_unsupported, memory_order_relaxed))
        return;
    int saved = errno;
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)addr, size, (unsigned long)name) != 0 &&
        errno == EINVAL)
        atomic_store_explicit(&naming_unsupported, true, memory_order_relaxed);
    errno = saved;
}

void mallet_os_get_counters(mallet_os_counters_t *out)
{
    out->maps = atomic_load(&n_maps);
    out->unmaps = atomic_load(&n_unmaps);
    out->decommits = atomic_load(&n_decommits);
    out->protects = atomic_load(&n_protects);
    out->remaps = atomic_load(&n_remaps);
    out->map_failures = atomic_load(&n_failures);
    out->bytes_mapped = atomic_load(&bytes_mapped);
}
