/*
 * common/results_dir.c — result folder naming and creation (results_dir.h).
 */
#include "common/results_dir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mallet_make_dirs(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

void mallet_results_dir_name(char *buf, size_t len, const char *root, time_t when, const char *tag)
{
    char host[64] = "host", date[32];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    host[strcspn(host, ".")] = '\0'; /* short name: the domain says nothing about the machine */
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%d-%H%M%S", gmtime_r(&when, &tm));
    snprintf(buf, len, "%s/%s_%s_%s", root, date, host, tag);
}
