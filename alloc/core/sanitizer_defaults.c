/*
 * core/sanitizer_defaults.c — default sanitizer options for every mallet
 * program in a sanitizer build (added to each executable that links
 * mallet_alloc). mallet checks that impossible sizes give NULL + ENOMEM,
 * so the sanitizers' allocators must return NULL instead of aborting.
 * ASAN_OPTIONS / TSAN_OPTIONS in the environment still take precedence.
 */
#ifdef MALLET_SANITIZER_BUILD
const char *__asan_default_options(void);
const char *__tsan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__tsan_default_suppressions(void);

__attribute__((used, visibility("default"))) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:detect_leaks=1:abort_on_error=1";
}

__attribute__((used, visibility("default"))) const char *__tsan_default_options(void)
{
    return "allocator_may_return_null=1:halt_on_error=1:second_deadlock_stack=1";
}
/*
 * Peer libraries are dlopen()ed and never unloaded; what they allocate for
 * themselves at load time (tcmalloc's MallocExtension::Register keeps one
 * `new` object for the process lifetime) is not mallet's leak. Suppress by
 * module so LeakSanitizer still reports every leak in mallet's own code.
 */
__attribute__((used, visibility("default"))) const char *__lsan_default_suppressions(void)
{
    return "leak:libtcmalloc_minimal.so\n"
           "leak:libtcmalloc.so\n"
           "leak:libjemalloc.so\n"
           "leak:libmimalloc.so\n";
}
/*
 * ThreadSanitizer cannot see the synchronisation inside the dlopen()ed peer
 * libraries: they are not instrumented, and they synchronise with their own
 * spin locks and atomics (tcmalloc's SpinLock, jemalloc's malloc_mutex that
 * trylocks and spins). TSan then reports races between a block's last use
 * in one thread and its reuse in another (through the memset/memcpy
 * interceptors called inside tc_calloc/tc_realloc), and "double lock" of
 * jemalloc mutexes it only saw half of. `mallet stress` under TSan showed
 * both. Suppressed by module only: a race or lock error in mallet's own
 * code (no peer frame in either stack) is still reported.
 */
__attribute__((used, visibility("default"))) const char *__tsan_default_suppressions(void)
{
    return "race:libtcmalloc_minimal.so\n"
           "race:libtcmalloc.so\n"
           "race:libjemalloc.so\n"
           "race:libmimalloc.so\n"
           "mutex:libjemalloc.so\n"
           "mutex:libtcmalloc_minimal.so\n"
           "mutex:libtcmalloc.so\n"
           "mutex:libmimalloc.so\n"
           "deadlock:libjemalloc.so\n"
           "deadlock:libtcmalloc_minimal.so\n"
           "deadlock:libtcmalloc.so\n";
}
#endif
