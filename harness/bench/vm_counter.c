/*
 * bench/vm_counter.c — counts the mmap/munmap/madvise/mremap calls of the
 * whole benchmark child, peers included.
 *
 * The mallet executable defines these four functions and exports them
 * (vm_counter.list), so every library loaded into it — jemalloc, mimalloc
 * and tcmalloc through dlopen, and mallet's own platform layer — binds to
 * these definitions instead of the C library's. They count and make the
 * system call directly. glibc's own malloc calls its internal aliases,
 * which cannot be interposed, so `sys` is reported as unknown (-1).
 * Sanitizer builds leave the calls alone: ASan and TSan intercept mmap
 * themselves.
 */
#define _GNU_SOURCE
#include "bench/vm_counter.h"

#ifndef MALLET_SANITIZER_BUILD
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t n_map, n_unmap, n_advise, n_remap;

#define BUMP(c) __atomic_add_fetch(&(c), 1, __ATOMIC_RELAXED)

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    BUMP(n_map);
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
    BUMP(n_unmap);
    return (int)syscall(SYS_munmap, addr, len);
}

int madvise(void *addr, size_t len, int advice)
{
    BUMP(n_advise);
    return (int)syscall(SYS_madvise, addr, len, advice);
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    BUMP(n_remap);
    return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

bool mallet_vm_counter_active(void)
{
    return true;
}

void mallet_vm_counter_read(mallet_vm_counts_t *out)
{
    out->maps = __atomic_load_n(&n_map, __ATOMIC_RELAXED);
    out->unmaps = __atomic_load_n(&n_unmap, __ATOMIC_RELAXED);
    out->madvises = __atomic_load_n(&n_advise, __ATOMIC_RELAXED);
    out->remaps = __atomic_load_n(&n_remap, __ATOMIC_RELAXED);
}
#else
bool mallet_vm_counter_active(void)
{
    return false;
}

void mallet_vm_counter_read(mallet_vm_counts_t *out)
{
    out->maps = out->unmaps = out->madvises = out->remaps = 0;
}
#endif
