/*
 * tests/support/test.h — a tiny test helper (mimalloc's testhelper.h idea).
 *
 *   TEST_CASE("name") { CHECK(expr); CHECK_EQ(a, b); ... }   // inside a function
 *   return test_summary();                                   // from main
 *
 * Prints one line per failed check with file:line, and at the end the
 * plain closing line "N passed, N failed" that CI reads. A check failure
 * does not stop the remaining checks.
 */
#ifndef MALLET_TEST_H
#define MALLET_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static int test_passed, test_failed, test_skipped;
static const char *test_current = "?";
static bool test_case_ok;

#define TEST_CASE(name)                                                          \
    for (int _once = (test_current = (name), test_case_ok = true, 1); _once;     \
         _once = 0, test_case_ok ? test_passed++ : test_failed++,                \
             (void)(test_case_ok ? 0 : fprintf(stderr, "FAIL %s\n", test_current)))

#define CHECK(expr)                                                                      \
    do {                                                                                 \
        if (!(expr)) {                                                                   \
            fprintf(stderr, "  %s:%d: [%s] check failed: %s\n", __FILE__, __LINE__,     \
                    test_current, #expr);                                                \
            test_case_ok = false;                                                        \
        }                                                                                \
    } while (0)

#define CHECK_MSG(expr, ...)                                                             \
    do {                                                                                 \
        if (!(expr)) {                                                                   \
            fprintf(stderr, "  %s:%d: [%s] check failed: %s: ", __FILE__, __LINE__,     \
                    test_current, #expr);                                                \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            test_case_ok = false;                                                        \
        }                                                                                \
    } while (0)

#define CHECK_EQ(a, b)                                                                   \
    CHECK_MSG((a) == (b), "%lld != %lld", (long long)(a), (long long)(b))

/* Record a case as skipped with a reason (never silently). */
#define TEST_SKIP(name, why)                                                             \
    do {                                                                                 \
        test_skipped++;                                                                  \
        printf("SKIP %s: %s\n", (name), (why));                                          \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed, %d skipped\n", test_passed, test_failed, test_skipped);
    return test_failed ? 1 : 0;
}

#endif
