/*
 * preload/bootstrap.c — the static bump arena (see bootstrap.h). Each block
 * is preceded by a 16-byte header holding its size; the arena is zeroed
 * by the loader and never reused, so calloc needs no clearing.
 */
#include "preload/bootstrap.h"

#include <errno.h>

#define BOOT_SIZE (1u << 20)

static _Alignas(4096) unsigned char arena[BOOT_SIZE];
static size_t used; /* atomic bump offset */

void *mallet_boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    if (n > BOOT_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    size_t old = __atomic_load_n(&used, __ATOMIC_RELAXED), start, end;
    do {
        start = (old + 16 + align - 1) & ~(align - 1); /* room for the header */
        end = start + ((n + 15) & ~(size_t)15);
        if (end > BOOT_SIZE) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!__atomic_compare_exchange_n(&used, &old, end, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    *(size_t *)(arena + start - 16) = n;
    return arena + start;
}

bool mallet_boot_owns(const void *p)
{
    return (uintptr_t)p - (uintptr_t)arena < BOOT_SIZE;
}

size_t mallet_boot_size(const void *p)
{
    return *(const size_t *)((const unsigned char *)p - 16);
}
