/*
 * core/options.c — table-driven option loading (see mallet/options.h).
 *
 * Precedence, lowest first: table default, MALLET_<NAME> environment
 * variable, native environment names (MallocNanoZone, MALLOC_ARENA_MAX…),
 * then the explicit option string. Native names are read only when the
 * process is not setuid, as libmalloc and glibc do.
 */
#include "mallet/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "os/os.h"

int mallet_parse_size(const char *s, size_t len, unsigned long long *out)
{
    if (len == 0)
        return EINVAL;
    unsigned long long v = 0;
    size_t i = 0;
    if (!isdigit((unsigned char)s[0]))
        return EINVAL;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        if (v > (ULLONG_MAX - 9) / 10)
            return ERANGE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    unsigned shift = 0;
    if (i < len) {
        switch (s[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return EINVAL;
        }
        i++;
        if (i < len && (s[i] == 'b' || s[i] == 'B' || s[i] == 'i'))
            i++;
        if (i < len && (s[i] == 'B'))
            i++;
    }
    if (i != len)
        return EINVAL;
    if (shift && v > (ULLONG_MAX >> shift))
        return ERANGE;
    *out = v << shift;
    return 0;
}

static bool parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = {"1", "yes", "true", "on", "y"};
    static const char *const no[] = {"0", "no", "false", "off", "n"};
    if (len == 0) {
        *out = true; /* "MallocScribble" set to nothing means on */
        return true;
    }
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0)
            return (*out = true), true;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0)
            return (*out = false), true;
    return false;
}

static int set_value(const mallet_option_t *o, void *settings, const char *v, size_t len,
                     const char *source, char *err, size_t errlen)
{
    char *field = (char *)settings + o->offset;
    switch (o->type) {
    case MALLET_OPT_BOOL: {
        bool b;
        if (!parse_bool(v, len, &b))
            goto bad;
        *(bool *)field = b;
        return 0;
    }
    case MALLET_OPT_LONG: {
        char tmp[32];
        if (len == 0 || len >= sizeof tmp)
            goto bad;
        memcpy(tmp, v, len);
        tmp[len] = '\0';
        char *end;
        errno = 0;
        long long x = strtoll(tmp, &end, 0);
        if (*end || errno)
            goto bad;
        if (o->min <= o->max && (x < o->min || x > o->max))
            goto range;
        *(long *)field = (long)x;
        return 0;
    }
    case MALLET_OPT_SIZE: {
        unsigned long long x;
        if (mallet_parse_size(v, len, &x) != 0)
            goto bad;
        if (o->min <= o->max && (x < (unsigned long long)o->min || x > (unsigned long long)o->max))
            goto range;
        *(size_t *)field = (size_t)x;
        return 0;
    }
    case MALLET_OPT_STRING:
        if (len >= MALLET_OPT_STRING_MAX)
            goto bad;
        memcpy(field, v, len);
        field[len] = '\0';
        return 0;
    }
bad:
    snprintf(err, errlen, "%s: invalid value '%.*s' for option %s", source, (int)len, v, o->name);
    return EINVAL;
range:
    snprintf(err, errlen, "%s: value '%.*s' for option %s is outside [%lld, %lld]", source, (int)len,
             v, o->name, o->min, o->max);
    return EINVAL;
}

/* Does `key` (len bytes) name option o, by mallet or native name? */
static bool names_option(const mallet_option_t *o, const char *key, size_t len)
{
    if (strlen(o->name) == len && strncmp(o->name, key, len) == 0)
        return true;
    for (const char *n = o->native; n && *n;) {
        const char *end = strchr(n, ';');
        size_t nl = end ? (size_t)(end - n) : strlen(n);
        if (nl == len && strncmp(n, key, len) == 0)
            return true;
        n = end ? end + 1 : NULL;
    }
    return false;
}

int mallet_options_load(const mallet_option_t *table, size_t count, void *settings, bool use_env,
                        const char *str, char *err, size_t errlen)
{
    int rc;
    for (size_t i = 0; i < count; i++) {
        const char *d = table[i].default_value ? table[i].default_value : "";
        if ((rc = set_value(&table[i], settings, d, strlen(d), "default", err, errlen)))
            return rc;
    }
    if (use_env) {
        for (size_t i = 0; i < count; i++) {
            const mallet_option_t *o = &table[i];
            char env[96] = "MALLET_";
            size_t k = strlen(env);
            for (const char *c = o->name; *c && k + 1 < sizeof env; c++)
                env[k++] = (*c == '.' || *c == '-') ? '_' : (char)toupper((unsigned char)*c);
            env[k] = '\0';
            const char *v = mallet_os_getenv(env, false);
            if (v && (rc = set_value(o, settings, v, strlen(v), env, err, errlen)))
                return rc;
            for (const char *n = o->native; n && *n;) {
                const char *end = strchr(n, ';');
                size_t nl = end ? (size_t)(end - n) : strlen(n);
                char name[64];
                if (nl < sizeof name) {
                    memcpy(name, n, nl);
                    name[nl] = '\0';
                    v = mallet_os_getenv(name, true);
                    if (v && (rc = set_value(o, settings, v, strlen(v), name, err, errlen)))
                        return rc;
                }
                n = end ? end + 1 : NULL;
            }
        }
    }
    for (const char *s = str; s && *s;) {
        size_t len = strcspn(s, ":,");
        const char *eq = memchr(s, '=', len);
        size_t klen = eq ? (size_t)(eq - s) : len;
        if (len > 0) {
            const mallet_option_t *o = NULL;
            for (size_t i = 0; i < count && !o; i++)
                if (names_option(&table[i], s, klen))
                    o = &table[i];
            if (!o) {
                snprintf(err, errlen, "unknown option '%.*s'", (int)klen, s);
                return EINVAL;
            }
            const char *v = eq ? eq + 1 : "";
            size_t vlen = eq ? len - klen - 1 : 0;
            if ((rc = set_value(o, settings, v, vlen, "options", err, errlen)))
                return rc;
        }
        s += len;
        if (*s)
            s++;
    }
    return 0;
}

void mallet_options_print_help(int fd, const mallet_option_t *table, size_t count)
{
    static const char *const tn[] = {"bool", "int", "size", "string"};
    for (size_t i = 0; i < count; i++) {
        const mallet_option_t *o = &table[i];
        mallet_os_printf(fd, "  %-28s %-6s default %-10s%s%s\n      %s\n", o->name, tn[o->type],
                         o->default_value && *o->default_value ? o->default_value : "\"\"",
                         o->native ? " env " : "", o->native ? o->native : "", o->description);
    }
}

void mallet_options_print_values(int fd, const mallet_option_t *table, size_t count,
                                 const void *settings, bool json)
{
    if (json)
        mallet_os_printf(fd, "{");
    for (size_t i = 0; i < count; i++) {
        const mallet_option_t *o = &table[i];
        const char *field = (const char *)settings + o->offset;
        char val[MALLET_OPT_STRING_MAX + 8];
        bool quote = false;
        switch (o->type) {
        case MALLET_OPT_BOOL: snprintf(val, sizeof val, "%s", *(const bool *)field ? "true" : "false"); break;
        case MALLET_OPT_LONG: snprintf(val, sizeof val, "%ld", *(const long *)field); break;
        case MALLET_OPT_SIZE: snprintf(val, sizeof val, "%zu", *(const size_t *)field); break;
        case MALLET_OPT_STRING: snprintf(val, sizeof val, "%s", field); quote = true; break;
        }
        char esc[6 * sizeof val + 1]; /* worst case: every byte a \u00XX */
        const char *shown = val;
        if (json && quote) { /* a string option may hold '"' or '\\': escape for JSON */
            size_t k = 0;
            for (const char *c = val; *c && k + 7 < sizeof esc; c++) {
                unsigned char ch = (unsigned char)*c;
                if (ch == '"' || ch == '\\') {
                    esc[k++] = '\\';
                    esc[k++] = (char)ch;
                } else if (ch < 0x20) {
                    k += (size_t)snprintf(esc + k, sizeof esc - k, "\\u%04x", ch);
                } else {
                    esc[k++] = (char)ch;
                }
            }
            esc[k] = '\0';
            shown = esc;
        }
        if (json)
            mallet_os_printf(fd, "%s\"%s\": %s%s%s", i ? ", " : "", o->name, quote ? "\"" : "", shown,
                             quote ? "\"" : "");
        else
            mallet_os_printf(fd, "%s=%s\n", o->name, val);
    }
    if (json)
        mallet_os_printf(fd, "}");
}
