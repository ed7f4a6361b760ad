/*
 * core/error.c — the one error-reporting path (see mallet/error.h).
 *
 * The default handler prints in the style of the allocator being
 * imitated, so a user sees the message they would see with the original:
 * glibc's malloc_printerr prints "<msg>\n" and aborts; libmalloc prints
 * "<prog>(<pid>,0x<tid>) malloc: <msg>" and the malloc_error_break hint.
 * Formatting happens in a stack buffer: reporting must not allocate,
 * because the heap being reported on may be the process's own.
 */
#include "mallet/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"

static _Atomic(mallet_error_handler_t) current_handler;
static void *_Atomic current_ctx;
static _Atomic unsigned long report_count;

static const char *const kind_names[MALLET_ERR_KIND_COUNT] = {
    [MALLET_ERR_DOUBLE_FREE] = "double-free",
    [MALLET_ERR_INVALID_FREE] = "invalid-free",
    [MALLET_ERR_INVALID_REALLOC] = "invalid-realloc",
    [MALLET_ERR_MISALIGNED_POINTER] = "misaligned-pointer",
    [MALLET_ERR_FREELIST_CORRUPTION] = "freelist-corruption",
    [MALLET_ERR_HEADER_CORRUPTION] = "header-corruption",
    [MALLET_ERR_METADATA_CORRUPTION] = "metadata-corruption",
    [MALLET_ERR_SIZE_MISMATCH] = "size-mismatch",
    [MALLET_ERR_CHECK_FAILED] = "check-failed",
    [MALLET_ERR_INTERNAL] = "internal",
};

const char *mallet_error_kind_name(mallet_error_kind_t kind)
{
    if ((unsigned)kind < MALLET_ERR_KIND_COUNT && kind_names[kind])
        return kind_names[kind];
    return "unknown";
}

__attribute__((noinline)) void mallet_error_break(void)
{
    /* Empty on purpose: a place for a debugger breakpoint. The asm keeps
     * the compiler from removing calls to it. */
    __asm__ volatile("" ::: "memory");
}

mallet_error_handler_t mallet_error_set_handler(mallet_error_handler_t handler, void *ctx)
{
    atomic_store(&current_ctx, ctx);
    return atomic_exchange(&current_handler, handler);
}

unsigned long mallet_error_count(void)
{
    return atomic_load(&report_count);
}

void mallet_error_default_handler(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    int fd = STDERR_FILENO;
    const char *log = mallet_os_getenv("MallocLogFile", true);
    switch (r->style) {
    case MALLET_STYLE_GLIBC:
        mallet_os_printf(fd, "%s\n", r->message);
        break;
    case MALLET_STYLE_LIBMALLOC:
        (void)log; /* MallocLogFile is honoured by the libmalloc backend itself */
        mallet_os_printf(fd, "%s(%d,0x%llx) malloc: %s\n", mallet_os_program_name(), (int)getpid(),
                         (unsigned long long)mallet_os_thread_id(), r->message);
        mallet_os_printf(fd, "%s(%d,0x%llx) malloc: *** set a breakpoint in malloc_error_break to debug\n",
                         mallet_os_program_name(), (int)getpid(),
                         (unsigned long long)mallet_os_thread_id());
        break;
    default:
        mallet_os_printf(fd, "mallet(%s): %s: %s\n", r->backend_id ? r->backend_id : "?",
                         mallet_error_kind_name(r->kind), r->message);
        break;
    }
    mallet_error_break();
    abort();
}

void mallet_report(const mallet_zone_t *zone, const char *backend_id, mallet_error_kind_t kind,
                   mallet_error_style_t style, bool is_corruption, const void *ptr,
                   const char *fmt, ...)
{
    mallet_error_report_t r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.style = style;
    r.is_corruption = is_corruption;
    r.backend_id = backend_id;
    r.zone = zone;
    r.ptr = ptr;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof r.message, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&report_count, 1);
    mallet_error_handler_t h = atomic_load(&current_handler);
    if (h)
        h(&r, atomic_load(&current_ctx));
    else
        mallet_error_default_handler(&r, NULL);
}
