/*
 * preload/bootstrap.h — memory for calls that arrive while libmallet.so is
 * still choosing and starting its backend (dlopen and dlsym call calloc,
 * and a peer's own initialisation may call malloc again).
 *
 * A static bump arena: blocks are never reused, freeing one is a no-op,
 * and pointers are recognised by address, so free/realloc/usable_size
 * handle them whichever backend is chosen later.
 */
#ifndef MALLET_PRELOAD_BOOTSTRAP_H
#define MALLET_PRELOAD_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *mallet_boot_alloc(size_t n, size_t align);
bool mallet_boot_owns(const void *p);
size_t mallet_boot_size(const void *p);

#endif
