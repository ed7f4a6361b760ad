/*
 * peers/peer_loader.h — loading a peer allocator so that it serves only
 * its own backend.
 *
 * Debian's jemalloc, mimalloc and tcmalloc libraries export `malloc`
 * themselves: linking them would silently make them the allocator of the
 * whole process, and every other backend's numbers would be theirs. So
 * mallet never links them. It dlopen()s them on first use with
 * RTLD_LOCAL (their `malloc` stays out of the global symbol scope) and
 * calls only their own entry points (mallocx, mi_heap_*, tc_malloc).
 * RTLD_DEEPBIND is not used: it breaks under AddressSanitizer.
 */
#ifndef MALLET_PEER_LOADER_H
#define MALLET_PEER_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "os/os.h"

typedef struct mallet_peer_lib {
    const char *id;           /* backend ID, e.g. "je" */
    const char *env;          /* override variable, e.g. "MALLET_JE_LIBRARY" */
    const char *default_path; /* path CMake found, or the soname */
    const char *package;      /* Debian package that provides it */
    /* filled on first open */
    mallet_lock_t lock;
    int state;                /* 0 not tried, 1 loaded, -1 failed */
    void *handle;
    char path[256];
    char why[256];
} mallet_peer_lib_t;

#define MALLET_PEER_LIB_INIT(id_, env_, path_, pkg_) \
    { id_, env_, path_, pkg_, MALLET_LOCK_INIT, 0, NULL, "", "" }

/* Loads the library once. Returns 0, or an errno value with lib->why set
 * to "not installed: <path> (<dlerror>); apt-get install <package>". */
int mallet_peer_open(mallet_peer_lib_t *lib);
/* Resolves `name` into *slot; on failure records it in lib->why and
 * returns ENOENT. */
int mallet_peer_sym(mallet_peer_lib_t *lib, const char *name, void **slot);
/* available() helper shared by the peer backends. */
int mallet_peer_available(mallet_peer_lib_t *lib, int (*resolve_all)(void), char *why, size_t len);

/* jemalloc needs more static TLS than glibc leaves for dlopen: re-execute
 * the program (argv, or /proc/self/cmdline if NULL) once with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls raised. Returns only if
 * that is not needed or not possible (MALLET_NO_REEXEC=1, setuid). */
void mallet_peer_ensure_static_tls(char **argv);

#endif
