/*
 * fuzz/options_fuzzer.c — fuzzes the option-string parser
 * (alloc/include/mallet/options.h) with a table using every option type,
 * native names and ranges, plus mallet_parse_size.
 *
 * Checks: no crash or UB on any string; accepted values respect each
 * option's range and strings stay NUL-terminated; printing the effective
 * values ("name=value" lines) and parsing them back gives the same
 * settings (when no string value contains a separator); an accepted size
 * printed in decimal parses back to itself. The environment is not read
 * (use_env = false) so runs are reproducible.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mallet/options.h"

typedef struct settings {
    bool flag;
    long count;
    long level;
    size_t size;
    size_t limit;
    char name[MALLET_OPT_STRING_MAX];
} settings_t;

static const mallet_option_t table[] = {
    {"t.flag", "TFlag;MallocTFlag", MALLET_OPT_BOOL, offsetof(settings_t, flag), "0", 1, 0, "A flag."},
    {"t.count", NULL, MALLET_OPT_LONG, offsetof(settings_t, count), "0", 1, 0, "Any long."},
    {"t.level", "TLevel", MALLET_OPT_LONG, offsetof(settings_t, level), "3", -5, 100, "A ranged long."},
    {"t.size", "TSize", MALLET_OPT_SIZE, offsetof(settings_t, size), "64K", 1, 0, "Any size."},
    {"t.limit", NULL, MALLET_OPT_SIZE, offsetof(settings_t, limit), "1M", 16, 1LL << 40, "A ranged size."},
    {"t.name", "TName", MALLET_OPT_STRING, offsetof(settings_t, name), "abc", 1, 0, "A string."},
};
#define NOPT (sizeof table / sizeof table[0])

static bool same(const settings_t *a, const settings_t *b)
{
    return a->flag == b->flag && a->count == b->count && a->level == b->level && a->size == b->size &&
           a->limit == b->limit && strcmp(a->name, b->name) == 0;
}

static void round_trip(const settings_t *s)
{
    if (strpbrk(s->name, ":,\n=") != NULL)
        return;
    int fd = memfd_create("options", 0);
    if (fd < 0)
        return;
    mallet_options_print_values(fd, table, NOPT, s, false);
    char text[1024];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    if (n <= 0)
        fz_fail("options: print_values wrote nothing");
    text[n] = '\0';
    for (char *c = text; *c; c++)
        if (*c == '\n')
            *c = ':';
    settings_t back;
    char err[256];
    if (mallet_options_load(table, NOPT, &back, false, text, err, sizeof err) != 0)
        fz_fail("options: printed values '%s' do not parse back: %s", text, err);
    if (!same(s, &back))
        fz_fail("options: printed values '%s' parse back to different settings", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *str = malloc(size + 1);
    memcpy(str, data, size);
    str[size] = '\0';

    settings_t s;
    memset(&s, 0x5A, sizeof s);
    char err[256];
    if (mallet_options_load(table, NOPT, &s, false, str, err, sizeof err) == 0) {
        if (s.level < -5 || s.level > 100 || s.limit < 16 || s.limit > (1ull << 40))
            fz_fail("options: '%s' gave out-of-range values", str);
        if (memchr(s.name, '\0', sizeof s.name) == NULL)
            fz_fail("options: string value not NUL-terminated");
        round_trip(&s);
    } else if (memchr(err, '\0', sizeof err) == NULL) {
        fz_fail("options: error message not terminated");
    }

    unsigned long long v;
    if (mallet_parse_size(str, strlen(str), &v) == 0) {
        char dec[32];
        unsigned long long w;
        int k = snprintf(dec, sizeof dec, "%llu", v);
        if (mallet_parse_size(dec, (size_t)k, &w) != 0 || w != v)
            fz_fail("options: size '%s' = %llu does not parse back", str, v);
    }
    free(str);
    return 0;
}
