/*
 * test_options.c — option tables: defaults, environment (mallet and native
 * names), option strings, ranges, and clear errors for bad input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mallet/options.h"
#include "support/test.h"

typedef struct settings {
    bool scribble;
    long mags;
    size_t cache;
    char version[MALLET_OPT_STRING_MAX];
} settings_t;

static const mallet_option_t table[] = {
    {"scribble", "MallocScribble", MALLET_OPT_BOOL, offsetof(settings_t, scribble), "0", 0, -1,
     "Fill allocated memory with 0xAA and freed memory with 0x55."},
    {"max-magazines", "MallocMaxMagazines", MALLET_OPT_LONG, offsetof(settings_t, mags), "0", 0, 64,
     "Cap the number of magazines."},
    {"large.cache", NULL, MALLET_OPT_SIZE, offsetof(settings_t, cache), "128M", 0, -1,
     "Largest block kept in the death-row cache."},
    {"nano.version", "MallocNanoZone", MALLET_OPT_STRING, offsetof(settings_t, version), "V2", 0, -1,
     "Which nano allocator: 0, 1, V1 or V2."},
};
#define N (sizeof table / sizeof *table)

int main(void)
{
    settings_t s;
    char err[256];
    TEST_CASE("defaults")
    {
        CHECK_EQ(mallet_options_load(table, N, &s, false, NULL, err, sizeof err), 0);
        CHECK(!s.scribble && s.mags == 0 && s.cache == (128u << 20) && strcmp(s.version, "V2") == 0);
    }
    TEST_CASE("option strings by mallet and native names, sizes with suffixes")
    {
        CHECK_EQ(mallet_options_load(table, N, &s, false, "MallocScribble:max-magazines=4,large.cache=2g:MallocNanoZone=V1",
                                     err, sizeof err), 0);
        CHECK(s.scribble && s.mags == 4 && s.cache == (2ull << 30) && strcmp(s.version, "V1") == 0);
    }
    TEST_CASE("environment: MALLET_ names and native names; string wins over env")
    {
        setenv("MALLET_MAX_MAGAZINES", "8", 1);
        setenv("MallocNanoZone", "1", 1);
        CHECK_EQ(mallet_options_load(table, N, &s, true, NULL, err, sizeof err), 0);
        CHECK_EQ(s.mags, 8);
        CHECK(strcmp(s.version, "1") == 0);
        CHECK_EQ(mallet_options_load(table, N, &s, true, "max-magazines=2", err, sizeof err), 0);
        CHECK_EQ(s.mags, 2);
        unsetenv("MALLET_MAX_MAGAZINES");
        unsetenv("MallocNanoZone");
    }
    TEST_CASE("bad input is rejected with a message naming the option")
    {
        CHECK_EQ(mallet_options_load(table, N, &s, false, "max-magazines=65", err, sizeof err), EINVAL);
        CHECK(strstr(err, "max-magazines") != NULL);
        CHECK_EQ(mallet_options_load(table, N, &s, false, "max-magazines=x", err, sizeof err), EINVAL);
        CHECK_EQ(mallet_options_load(table, N, &s, false, "scribble=maybe", err, sizeof err), EINVAL);
        CHECK_EQ(mallet_options_load(table, N, &s, false, "nosuch=1", err, sizeof err), EINVAL);
        CHECK(strstr(err, "nosuch") != NULL);
        CHECK_EQ(mallet_options_load(table, N, &s, false, "large.cache=12Q", err, sizeof err), EINVAL);
    }
    TEST_CASE("print_values: JSON escapes quotes, backslashes and control bytes in strings")
    {
        CHECK_EQ(mallet_options_load(table, N, &s, false, NULL, err, sizeof err), 0);
        snprintf(s.version, sizeof s.version, "a\"b\\c\n");
        int fds[2];
        CHECK_EQ(pipe(fds), 0);
        mallet_options_print_values(fds[1], table, N, &s, true);
        close(fds[1]);
        char out[1024] = "";
        ssize_t got = read(fds[0], out, sizeof out - 1);
        close(fds[0]);
        CHECK(got > 0);
        CHECK(strstr(out, "\"nano.version\": \"a\\\"b\\\\c\\u000a\"") != NULL);
        CHECK(strstr(out, "\"scribble\": false") != NULL);
    }
    TEST_CASE("size parser")
    {
        unsigned long long v;
        CHECK(mallet_parse_size("4096", 4, &v) == 0 && v == 4096);
        CHECK(mallet_parse_size("16K", 3, &v) == 0 && v == 16384);
        CHECK(mallet_parse_size("1MiB", 4, &v) == 0 && v == 1048576);
        CHECK(mallet_parse_size("", 0, &v) == EINVAL);
        CHECK(mallet_parse_size("99999999999999999999", 20, &v) == ERANGE);
        CHECK(mallet_parse_size("17179869184G", 12, &v) == ERANGE);
    }
    return test_summary();
}
