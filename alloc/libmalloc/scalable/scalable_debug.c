/*
 * scalable_debug.c — the scalable zone's options and libmalloc's debug
 * environment (ALLOCATOR_REFERENCE §C.10).
 *
 * One table declares every tunable once with its libmalloc environment
 * name; core/options.c turns it into the parser, the MALLET_SCALABLE_*
 * environment reader, the help text and the effective-configuration dump.
 * The native names are ignored in setuid processes, as libmalloc does.
 *
 * Notes on Linux/mallet semantics:
 *   - MallocErrorAbort: every report already ends in abort() unless a
 *     mallet error handler is installed; the flag is accepted and recorded.
 *   - MallocLogFile: MallocCheckHeap messages and MallocHelp go there;
 *     misuse reports always go through mallet_report() (stderr).
 *   - MallocZeroOnFree defaults to off here (792 turns it on and lets calloc
 *     skip clearing; our calloc always clears, so the flag only scrubs).
 *   - MallocStackLogging and MallocTracing have no Linux counterpart here.
 */
#include "scalable_internal.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OFF(f) offsetof(sz_settings_t, f)

const mallet_option_t sz_option_table[] = {
    {"scribble", "MallocScribble", MALLET_OPT_BOOL, OFF(scribble), "0", 0, -1,
     "Fill allocated memory with 0xAA, freed memory with 0x55 and madvised memory with 0xDD."},
    {"guard-edges", "MallocGuardEdges", MALLET_OPT_STRING, OFF(guard_edges), "", 0, -1,
     "Put an inaccessible page before and after every large block (any non-empty value); "
     "\"all\" also puts one after every tiny, small and medium region."},
    {"no-prelude", "MallocDoNotProtectPrelude", MALLET_OPT_BOOL, OFF(no_prelude), "0", 0, -1,
     "With guard-edges, leave out the guard page before large blocks."},
    {"no-postlude", "MallocDoNotProtectPostlude", MALLET_OPT_BOOL, OFF(no_postlude), "0", 0, -1,
     "With guard-edges, leave out the guard page after large blocks (and regions)."},
    {"check-start", "MallocCheckHeapStart", MALLET_OPT_LONG, OFF(check_start), "0", 0, 1L << 40,
     "Check the whole heap after this many operations (0 = never)."},
    {"check-each", "MallocCheckHeapEach", MALLET_OPT_LONG, OFF(check_each), "1000", 1, 1L << 40,
     "After check-start, check the heap again every this many operations."},
    {"check-sleep", "MallocCheckHeapSleep", MALLET_OPT_LONG, OFF(check_sleep), "100", -100000, 100000,
     "Seconds to sleep after a failed heap check when not aborting."},
    {"check-abort", "MallocCheckHeapAbort", MALLET_OPT_BOOL, OFF(check_abort), "0", 0, -1,
     "Abort when a MallocCheckHeap check fails."},
    {"max-magazines", "MallocMaxMagazines", MALLET_OPT_LONG, OFF(max_magazines), "0", 0, 64,
     "Cap the number of magazines per tier (0 = one per logical CPU, at most 64)."},
    {"large-cache", "MallocLargeCache", MALLET_OPT_BOOL, OFF(large_cache), "1", 0, -1,
     "Keep freed large blocks on death row for reuse."},
    {"zero-on-free", "MallocZeroOnFree", MALLET_OPT_BOOL, OFF(zero_on_free), "0", 0, -1,
     "Clear tiny, small and medium blocks when they are freed."},
    {"error-abort", "MallocErrorAbort", MALLET_OPT_BOOL, OFF(error_abort), "0", 0, -1,
     "Abort on any reported error (mallet's default handler always does)."},
    {"log-file", "MallocLogFile", MALLET_OPT_STRING, OFF(log_file), "", 0, -1,
     "File that receives MallocCheckHeap and MallocHelp output instead of stderr."},
    {"help", "MallocHelp", MALLET_OPT_BOOL, OFF(help), "0", 0, -1,
     "Print these options when the zone is created."},
    {"medium", "MallocMediumZone", MALLET_OPT_LONG, OFF(medium), "-1", -1, 1,
     "Medium tier (32 KiB..8 MiB): 1 on, 0 off, -1 on when RAM >= 32 GiB."},
    {"recirc-retained", "MallocRecircRetainedRegions", MALLET_OPT_LONG, OFF(recirc_retained), "2", 0, 1 << 20,
     "Empty regions the depot keeps mapped before it unmaps more."},
    {"aggressive-madvise", "MallocAggressiveMadvise", MALLET_OPT_BOOL, OFF(aggressive_madvise), "0", 0, -1,
     "Accepted for compatibility; regions handed to the depot are then not madvised."},
};
const size_t sz_option_count = sizeof sz_option_table / sizeof sz_option_table[0];

int sz_settings_load(sz_settings_t *s, bool use_env, const char *str, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    return mallet_options_load(sz_option_table, sz_option_count, s, use_env, str, err, errlen);
}

static int log_fd(sz_zone_t *z)
{
    return z->log_fd >= 0 ? z->log_fd : 2;
}

void sz_debug_zone_created(sz_zone_t *z)
{
    z->log_fd = -1;
    if (z->s.log_file[0])
        z->log_fd = open(z->s.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (z->s.help) {
        mallet_os_printf(log_fd(z), "scalable zone options (MallocHelp):\n");
        mallet_options_print_help(log_fd(z), sz_option_table, sz_option_count);
    }
}

/* MallocCheckHeapStart/Each: check after operation N and every M after. */
void sz_debug_tick_slow(sz_zone_t *z)
{
    long start = z->s.check_start;
    if (start <= 0)
        return;
    long op = atomic_fetch_add_explicit(&z->ops, 1, memory_order_relaxed) + 1;
    if (op < start || (op - start) % (z->s.check_each > 0 ? z->s.check_each : 1) != 0)
        return;
    if (sz_check(&z->base))
        return;
    mallet_os_printf(log_fd(z), "*** MallocCheckHeap: FAILED check at operation #%ld\n", op);
    if (z->s.check_abort)
        abort();
    if (z->s.check_sleep > 0) {
        mallet_os_printf(log_fd(z), "*** Sleeping for %ld seconds to leave time to attach\n",
                         z->s.check_sleep);
        mallet_os_sleep_ms((unsigned)z->s.check_sleep * 1000u);
    } else if (z->s.check_sleep < 0) {
        /* libmalloc: a negative value sleeps once; we just do not repeat */
        z->s.check_start = 0;
    }
}
