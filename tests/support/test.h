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

static bool test_case_open; /* a TEST_CASE body that has not reached its end */

/* A case left by `break` (or a return out of its body) never reaches the
 * loop's counting step: it is counted here, as failed, at the next case or
 * at test_summary, so an early exit can never pass silently. */
static inline void test_close_abandoned(void)
{
    if (test_case_open) {
        test_case_open = false;
        test_failed++;
        fprintf(stderr, "FAIL %s (left before its end%s)\n", test_current,
                test_case_ok ? ", no check failed: an early exit counts as a failure" : "");
    }
}

#define TEST_CASE(name)                                                                    \
    for (int _once = (test_close_abandoned(), test_current = (name), test_case_ok = true, \
                      test_case_open = true, 1);                                           \
         _once; _once = 0, test_case_open = false, test_case_ok ? test_passed++ : test_failed++, \
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
    test_close_abandoned();
    printf("%d passed, %d failed, %d skipped\n", test_passed, test_failed, test_skipped);
    return test_failed ? 1 : 0;
}

#endif
