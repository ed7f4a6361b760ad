/*
 * mallet/options.h — one table per backend declares each tunable once
 * (name, native environment names, type, default, range, description);
 * the same table drives the option-string parser, the environment reader,
 * `--help`-style listings and the effective configuration written next to
 * every result (the scudo flags.inc / mimalloc options.c idea).
 *
 * Option strings look like "key=value:key=value" (also ',' separated).
 * A key may be the mallet name or any of the native names, so
 * "MallocNanoZone=V1" and "nano.version=V1" both work.
 * Sizes accept K, M, G suffixes (powers of 1024).
 */
#ifndef MALLET_OPTIONS_H
#define MALLET_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mallet_option_type {
    MALLET_OPT_BOOL,    /* bool; 1/0, yes/no, true/false, on/off; empty = true */
    MALLET_OPT_LONG,    /* long, checked against [min, max] */
    MALLET_OPT_SIZE,    /* size_t with K/M/G suffix, checked against [min, max] */
    MALLET_OPT_STRING,  /* char[MALLET_OPT_STRING_MAX], copied */
} mallet_option_type_t;

#define MALLET_OPT_STRING_MAX 64

typedef struct mallet_option {
    const char *name;        /* mallet name, e.g. "nano.version" */
    const char *native;      /* native env names, ';'-separated, or NULL */
    mallet_option_type_t type;
    size_t offset;           /* offsetof(settings struct, field) */
    const char *default_value;
    long long min, max;      /* numeric range (inclusive); ignored if min > max */
    const char *description; /* one full sentence */
} mallet_option_t;

/* Fill `settings` from defaults, then (if use_env) the environment — the
 * mallet name upper-cased with '.' -> '_' and prefixed MALLET_ (e.g.
 * MALLET_NANO_VERSION), and every native name — then `str`.
 * Returns 0, or EINVAL with a message naming the option and the value. */
int mallet_options_load(const mallet_option_t *table, size_t count,
                        void *settings, bool use_env, const char *str,
                        char *err, size_t errlen);
/* One line per option: name, native names, default, description. */
void mallet_options_print_help(int fd, const mallet_option_t *table, size_t count);
/* Effective values. json: a JSON object; else "name=value" lines. */
void mallet_options_print_values(int fd, const mallet_option_t *table,
                                 size_t count, const void *settings, bool json);
/* Parse a size with K/M/G suffix. Returns 0 or EINVAL/ERANGE. */
int mallet_parse_size(const char *s, size_t len, unsigned long long *out);

#ifdef __cplusplus
}
#endif
#endif /* MALLET_OPTIONS_H */
