/*
 * test_error_registry.c — the error path (recording handler; default
 * handler prints in the backend's style and aborts) and the registry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mallet/mallet.h"
#include "support/test.h"

static mallet_error_report_t last;
static int calls;
static void record(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    last = *r;
    calls++;
}

/* Runs the default handler in a child; returns its stderr and status. */
static int report_in_child(mallet_error_style_t style, char *out, size_t len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        mallet_report(NULL, "ptmalloc", MALLET_ERR_DOUBLE_FREE, style, false, (void *)0x10,
                      "free(): double free detected in tcache 2");
        _exit(0);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(fds[0], out + used, len - 1 - used)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return status;
}

int main(void)
{
    TEST_CASE("a recording handler receives kind, pointer and formatted message")
    {
        unsigned long before = mallet_error_count();
        mallet_error_set_handler(record, NULL);
        mallet_report(NULL, "scalable", MALLET_ERR_FREELIST_CORRUPTION, MALLET_STYLE_LIBMALLOC, true,
                      (void *)0x1234, "Incorrect checksum for freed object %p: probably modified after being freed.",
                      (void *)0x1234);
        mallet_error_set_handler(NULL, NULL);
        CHECK_EQ(calls, 1);
        CHECK_EQ(last.kind, MALLET_ERR_FREELIST_CORRUPTION);
        CHECK(last.ptr == (void *)0x1234 && last.is_corruption);
        CHECK(strcmp(last.message, "Incorrect checksum for freed object 0x1234: probably modified after being freed.") == 0);
        CHECK_EQ(mallet_error_count(), before + 1);
        CHECK(strcmp(mallet_error_kind_name(MALLET_ERR_DOUBLE_FREE), "double-free") == 0);
    }
    TEST_CASE("default handler: glibc style prints the bare message and aborts")
    {
        char out[512];
        int st = report_in_child(MALLET_STYLE_GLIBC, out, sizeof out);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
        CHECK(strcmp(out, "free(): double free detected in tcache 2\n") == 0);
    }
    TEST_CASE("default handler: libmalloc style has the prelude and the breakpoint hint")
    {
        char out[512];
        int st = report_in_child(MALLET_STYLE_LIBMALLOC, out, sizeof out);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
        CHECK(strstr(out, " malloc: free(): double free detected in tcache 2\n") != NULL);
        CHECK(strstr(out, "*** set a breakpoint in malloc_error_break to debug") != NULL);
    }
    TEST_CASE("registry: lookup by ID, unknown IDs, capability names")
    {
        CHECK(mallet_backend_find("sys") != NULL);
        errno = 0;
        CHECK(mallet_backend_find("nosuch") == NULL);
        CHECK_EQ(errno, ENOENT);
        CHECK(mallet_backend_id_is_known("nano") && mallet_backend_id_is_known("tc"));
        CHECK(!mallet_backend_id_is_known("sn"));
        CHECK(mallet_backend_count() >= 1);
        for (size_t i = 0; i < mallet_backend_count(); i++)
            CHECK(mallet_backend_find(mallet_backend_at(i)->id) == mallet_backend_at(i));
        char buf[256];
        mallet_caps_format(MALLET_CAP_THREAD_SAFE | MALLET_CAP_CHECK, buf, sizeof buf);
        CHECK(strcmp(buf, "thread-safe,check") == 0);
        char err[128];
        CHECK(mallet_zone_create("nosuch", NULL, err, sizeof err) == NULL);
        CHECK(strstr(err, "unknown backend 'nosuch'") != NULL);
    }
    TEST_CASE("zone registration and lookup by pointer")
    {
        static mallet_zone_t fake;
        CHECK_EQ(mallet_zone_register(&fake), 0);
        CHECK_EQ(mallet_zone_register(&fake), EEXIST);
        CHECK(mallet_zone_from_ptr((void *)0x1000) == NULL); /* no ownership cap: not asked */
        CHECK_EQ(mallet_zone_unregister(&fake), 0);
        CHECK_EQ(mallet_zone_unregister(&fake), ENOENT);
    }
    return test_summary();
}
