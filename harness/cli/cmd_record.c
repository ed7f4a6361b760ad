/*
 * cli/cmd_record.c — `mallet record [-o FILE] [--backend ID] -- CMD...`:
 * run an unmodified program under libmallet.so with MALLET_TRACE set, then
 * validate the trace and summarise it. The program's exit status is
 * passed through; a trace that does not validate is an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "trace/trace_file.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: mallet record [-o FILE] [--backend ID] -- COMMAND [ARGS...]\n"
                 "  Runs COMMAND with libmallet.so and records every malloc-family call.\n"
                 "  -o FILE        trace file (default: mallet.trace)\n"
                 "  --backend ID   allocator serving the program while recording (default: sys)\n"
                 "Replay it with 'mallet replay FILE'.\n");
}

/* libmallet.so lives beside the mallet executable. */
int mallet_find_preload_lib(char *out, size_t len)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, len, "%s/libmallet.so", exe);
    return access(out, R_OK) == 0 ? 0 : -1;
}

int mallet_cmd_record(int argc, char **argv)
{
    const char *out = "mallet.trace", *backend = "sys";
    int cmd = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--") == 0) {
            cmd = i + 1;
            break;
        } else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
            backend = argv[++i];
        } else {
            return mallet_usage_error("record", "unexpected '%s' (options go before --, the command after)",
                                      argv[i]);
        }
    }
    if (cmd < 0 || cmd >= argc)
        return mallet_usage_error("record", "no command to record (mallet record -- COMMAND ...)");
    char lib[4200];
    if (mallet_find_preload_lib(lib, sizeof lib) != 0) {
        fprintf(stderr, "mallet record: %s not found (build with -DMALLET_BUILD_PRELOAD=ON)\n", lib);
        return 1;
    }
    /* An absolute path: the program may change directory before its first
     * allocation. The first process takes this name; processes it starts
     * write <FILE>.<pid> (see alloc/preload/trace.c). */
    char abs_out[4096];
    if (out[0] != '/') {
        char cwd[3000];
        if (!getcwd(cwd, sizeof cwd))
            return 1;
        snprintf(abs_out, sizeof abs_out, "%s/%s", cwd, out);
        out = abs_out;
    }
    unlink(out);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_PRELOAD", lib, 1);
        setenv("MALLET_TRACE", out, 1);
        setenv("MALLET_BACKEND", backend, 1);
        execvp(argv[cmd], argv + cmd);
        fprintf(stderr, "mallet record: cannot run '%s': %s\n", argv[cmd], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    int prog_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    mallet_trace_t t;
    char err[512];
    if (mallet_trace_open(out, &t, err, sizeof err) != 0) {
        fprintf(stderr, "mallet record: no usable trace: %s\n", err);
        return prog_rc ? prog_rc : 1;
    }
    fprintf(stderr, "mallet record: %s: %zu calls (%llu allocations, %llu frees, %llu reallocs), %u threads, "
                    "%llu bytes requested; program exited %d\n",
            out, t.n, (unsigned long long)t.allocs, (unsigned long long)t.frees,
            (unsigned long long)t.reallocs, t.threads, (unsigned long long)t.bytes_requested, prog_rc);
    mallet_trace_close(&t);
    return prog_rc;
}
