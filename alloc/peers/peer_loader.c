/*
 * peers/peer_loader.c — dlopen-based loading of peer allocators (see
 * peer_loader.h for why they are never linked).
 */
#define _GNU_SOURCE
#include "peers/peer_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
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

extern char **environ;

/* Defined (strong) by libmallet.so; absent in mallet's executables. */
extern const int mallet_in_preload __attribute__((weak));

/* argv from /proc/self/cmdline, in static storage (we may be inside the
 * process's first malloc call). */
static char **argv_from_proc(void)
{
    static char cmdline[65536];
    static char *argv[1024];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    cmdline[n] = '\0';
    size_t argc = 0;
    for (char *p = cmdline; p < cmdline + n && argc < 1023; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    return argv;
}

void mallet_peer_ensure_static_tls(char **argv)
{
    if (mallet_os_getenv("MALLET_NO_REEXEC", false) || mallet_os_is_secure())
        return;
    const char *old = mallet_os_getenv("GLIBC_TUNABLES", false);
    if (old && strstr(old, "glibc.rtld.optional_static_tls"))
        return;
    if (argv == NULL && (argv = argv_from_proc()) == NULL)
        return;
    /* A new environment in static storage and execve(): setenv/putenv may
     * call malloc, and we may be inside the process's first malloc. */
    static char value[1024];
    static char *envp[4096];
    if (old && *old)
        snprintf(value, sizeof value, "GLIBC_TUNABLES=%s:%s", old, STATIC_TLS_TUNABLE);
    else
        snprintf(value, sizeof value, "GLIBC_TUNABLES=%s", STATIC_TLS_TUNABLE);
    size_t n = 0;
    for (char **e = environ; e && *e && n < 4093; e++)
        if (strncmp(*e, "GLIBC_TUNABLES=", 15) != 0)
            envp[n++] = *e;
    envp[n++] = value;
    envp[n++] = (char *)"MALLET_NO_REEXEC=1"; /* never loop, whatever happens */
    envp[n] = NULL;
    execve("/proc/self/exe", argv, envp);
    /* exec failed (no /proc?): carry on; je will say it cannot load. */
}

__attribute__((constructor)) static void ensure_static_tls(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    if (mallet_os_getenv("MALLET_NO_REEXEC", false)) /* perhaps our own re-exec: not "exe" in ps */
        mallet_os_restore_exec_name();
    if (&mallet_in_preload != NULL) {
        const char *b = mallet_os_getenv("MALLET_BACKEND", false);
        if (b == NULL || strcmp(b, "je") != 0)
            return;
    }
    if (argv)
        mallet_peer_ensure_static_tls(argv);
}
