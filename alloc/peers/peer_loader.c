/*
 * peers/peer_loader.c — dlopen-based loading of peer allocators (see
 * peer_loader.h for why they are never linked).
 */
#define _GNU_SOURCE
#include "peers/peer_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mallet_peer_open(mallet_peer_lib_t *lib)
{
    if (__atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == 1)
        return 0;
    mallet_lock(&lib->lock);
    if (lib->state == 0) {
        const char *path = mallet_os_getenv(lib->env, true);
        if (path == NULL || *path == '\0')
            path = lib->default_path;
        snprintf(lib->path, sizeof lib->path, "%s", path);
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h) {
            lib->handle = h;
            __atomic_store_n(&lib->state, 1, __ATOMIC_RELEASE);
        } else {
            const char *e = dlerror();
            if (e && strstr(e, "static TLS"))
                snprintf(lib->why, sizeof lib->why,
                         "cannot load %.100s late: it needs more static TLS; start the program with "
                         "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384", path);
            else
                snprintf(lib->why, sizeof lib->why, "not installed: cannot load %.100s (%.80s); apt-get install %.40s",
                         path, e ? e : "unknown error", lib->package);
            lib->state = -1;
        }
    }
    int rc = lib->state == 1 ? 0 : ENOENT;
    mallet_unlock(&lib->lock);
    return rc;
}

int mallet_peer_sym(mallet_peer_lib_t *lib, const char *name, void **slot)
{
    if (*slot)
        return 0;
    if (mallet_peer_open(lib) != 0)
        return ENOENT;
    void *p = dlsym(lib->handle, name);
    if (p == NULL) {
        snprintf(lib->why, sizeof lib->why, "not usable: %.160s has no symbol %.60s", lib->path, name);
        return ENOENT;
    }
    __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    return 0;
}

int mallet_peer_available(mallet_peer_lib_t *lib, int (*resolve_all)(void), char *why, size_t len)
{
    if (mallet_peer_open(lib) != 0 || resolve_all() != 0) {
        snprintf(why, len, "%s", lib->why);
        return ENOENT;
    }
    return 0;
}

/*
 * jemalloc uses initial-exec TLS (2.6 KiB), more than the static-TLS
 * surplus glibc keeps for dlopen() (glibc.rtld.optional_static_tls, 512 B
 * by default), so a late dlopen fails with "cannot allocate memory in
 * static TLS block". The surplus can only be raised when a process starts,
 * so mallet's programs re-execute themselves once, before main, with the
 * tunable added. libmallet.so does the same, but only when the program
 * asked for MALLET_BACKEND=je. MALLET_NO_REEXEC=1 turns this off.
 */
#define STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

/* Defined (strong) by libmallet.so; absent in mallet's executables. */
extern const int mallet_in_preload __attribute__((weak));

__attribute__((constructor)) static void ensure_static_tls(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    if (argv == NULL || mallet_os_getenv("MALLET_NO_REEXEC", false) || mallet_os_is_secure())
        return;
    if (&mallet_in_preload != NULL) {
        const char *b = mallet_os_getenv("MALLET_BACKEND", false);
        if (b == NULL || strcmp(b, "je") != 0)
            return;
    }
    const char *old = mallet_os_getenv("GLIBC_TUNABLES", false);
    if (old && strstr(old, "glibc.rtld.optional_static_tls"))
        return;
    char value[1024];
    if (old && *old)
        snprintf(value, sizeof value, "%s:%s", old, STATIC_TLS_TUNABLE);
    else
        snprintf(value, sizeof value, "%s", STATIC_TLS_TUNABLE);
    setenv("GLIBC_TUNABLES", value, 1);
    setenv("MALLET_NO_REEXEC", "1", 1); /* never loop, whatever happens */
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): carry on; je will say it cannot load. */
    unsetenv("MALLET_NO_REEXEC");
}
