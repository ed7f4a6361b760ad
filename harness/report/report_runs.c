/*
 * report/report_runs.c — runs.csv, runs.json and meta.json.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/json_out.h"
#include "mallet/mallet.h"
#include "os/os.h"
#include "report/report.h"

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "mallet: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

int mallet_report_write_runs(const char *dir, const mallet_run_result_t *r, size_t n)
{
    FILE *csv = open_in(dir, "runs.csv"), *js = open_in(dir, "runs.json");
    if (!csv || !js) {
        if (csv) fclose(csv);
        if (js) fclose(js);
        return -1;
    }
    fprintf(csv, "benchmark,backend,repeat,threads,status,wall_s,user_s,sys_s,ops,ops_per_s,"
                 "p50_ns,p99_ns,p999_ns,max_ns,peak_rss_kb,baseline_rss_kb,peak_live_bytes,"
                 "fragmentation,minflt,majflt,vm_maps,vm_unmaps,vm_madvises,note\n");
    fprintf(js, "[\n");
    for (size_t i = 0; i < n; i++) {
        const mallet_run_result_t *x = &r[i];
        char note[200];
        snprintf(note, sizeof note, "%s", x->note);
        for (char *c = note; *c; c++)
            if (*c == ',' || *c == '"' || *c == '\n')
                *c = ';';
        fprintf(csv, "%s,%s,%u,%u,%s,%.6f,%.4f,%.4f,%llu,%.0f,%llu,%llu,%llu,%llu,%llu,%llu,%lld,%.3f,"
                     "%llu,%llu,%lld,%lld,%lld,%s\n",
                x->benchmark, x->backend, x->repeat, x->threads, mallet_run_status_name(x->status),
                x->wall_s, x->user_s, x->sys_s, (unsigned long long)x->ops, x->ops_per_s,
                (unsigned long long)x->p50_ns, (unsigned long long)x->p99_ns,
                (unsigned long long)x->p999_ns, (unsigned long long)x->max_ns,
                (unsigned long long)x->peak_rss_kb, (unsigned long long)x->baseline_rss_kb,
                (long long)x->peak_live_bytes, x->fragmentation, (unsigned long long)x->minflt,
                (unsigned long long)x->majflt, (long long)x->vm_maps, (long long)x->vm_unmaps,
                (long long)x->vm_madvises, note);
        fprintf(js, "  {\"benchmark\": \"%s\", \"backend\": \"%s\", \"repeat\": %u, \"threads\": %u, "
                    "\"status\": \"%s\", \"wall_s\": %.6f, \"user_s\": %.4f, \"sys_s\": %.4f, "
                    "\"ops\": %llu, \"ops_per_s\": %.0f, \"latency_ns\": {\"p50\": %llu, \"p99\": %llu, "
                    "\"p999\": %llu, \"max\": %llu}, \"peak_rss_kb\": %llu, \"baseline_rss_kb\": %llu, "
                    "\"peak_live_bytes\": %lld, \"fragmentation\": %.3f, \"minflt\": %llu, "
                    "\"majflt\": %llu, \"vm_maps\": %lld, \"vm_unmaps\": %lld, \"vm_madvises\": %lld, "
                    "\"note\": ",
                x->benchmark, x->backend, x->repeat, x->threads, mallet_run_status_name(x->status),
                x->wall_s, x->user_s, x->sys_s, (unsigned long long)x->ops, x->ops_per_s,
                (unsigned long long)x->p50_ns, (unsigned long long)x->p99_ns,
                (unsigned long long)x->p999_ns, (unsigned long long)x->max_ns,
                (unsigned long long)x->peak_rss_kb, (unsigned long long)x->baseline_rss_kb,
                (long long)x->peak_live_bytes, x->fragmentation, (unsigned long long)x->minflt,
                (unsigned long long)x->majflt, (long long)x->vm_maps, (long long)x->vm_unmaps,
                (long long)x->vm_madvises);
        mallet_json_str(js, x->note);
        fprintf(js, "}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(js, "]\n");
    int bad = ferror(csv) || ferror(js);
    bad |= fclose(csv) != 0;
    bad |= fclose(js) != 0;
    return bad ? -1 : 0;
}

static void read_first_line(const char *path, const char *key, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (key == NULL || strncmp(line, key, strlen(key)) == 0) {
            char *v = key ? strchr(line, ':') : line;
            if (!v)
                continue;
            if (key)
                v++;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = '\0';
            snprintf(out, len, "%s", v);
            break;
        }
    }
    fclose(f);
}

int mallet_report_write_meta(const char *dir, const mallet_report_meta_t *m)
{
    FILE *f = open_in(dir, "meta.json");
    if (!f)
        return -1;
    struct utsname u;
    uname(&u);
    char cpu[256], gov[64];
    read_first_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", NULL, gov, sizeof gov);
    fprintf(f, "{\n  \"tool\": \"mallet\",\n  \"command\": ");
    mallet_json_str(f, m->command_line);
    fprintf(f, ",\n  \"started_utc\": \"%s\",\n  \"duration_s\": %.1f,\n  \"commit\": \"%s\",\n",
            m->started, m->duration_s, m->commit);
    fprintf(f, "  \"host\": {\"name\": ");
    mallet_json_str(f, u.nodename);
    fprintf(f, ", \"kernel\": ");
    mallet_json_str(f, u.release);
    fprintf(f, ", \"machine\": \"%s\", \"cpu_model\": ", u.machine);
    mallet_json_str(f, cpu);
    fprintf(f, ", \"logical_cpus\": %u, \"physical_cpus\": %u, \"ram_bytes\": %llu, "
               "\"page_size\": %zu, \"cpufreq_governor\": ",
            mallet_os_cpu_count(), mallet_os_physical_cpu_count(),
            (unsigned long long)mallet_os_physical_memory(), mallet_os_page_size());
    mallet_json_str(f, gov[0] ? gov : "unknown");
    fprintf(f, "},\n  \"build\": {\"compiler\": \"%s\", \"flags\": \"%s\", \"build_type\": \"%s\"},\n",
            __VERSION__, MALLET_BUILD_FLAGS, MALLET_BUILD_TYPE);
    fprintf(f, "  \"settings\": {\"backends\": \"%s\", \"benchmarks\": \"%s\", \"threads\": %u, "
               "\"repeats\": %u, \"seed\": %llu, \"scale\": %g},\n",
            m->backends, m->benchmarks, m->threads, m->repeats, m->seed, m->scale);
    fprintf(f, "  \"harness_overhead_ns_per_op\": %.2f,\n", m->overhead_ns);
    /* exec: each run a fresh image, peak RSS its VmHWM; fork: runs share
     * the runner's history and peak RSS includes its copied pages. */
    fprintf(f, "  \"run_isolation\": \"%s\",\n", mallet_isolation_name(m->isolation));
    fprintf(f, "  \"backends\": [\n");
    static const char *const ids[] = {"nano", "scalable", "ptmalloc", "sys", "je", "mi", "tc"};
    size_t nb = sizeof ids / sizeof *ids;
    for (size_t i = 0; i < nb; i++) {
        const mallet_backend_t *b = mallet_backend_find(ids[i]);
        char why[256] = "", caps[512] = "";
        const char *status = "ok";
        if (b == NULL) {
            status = "not built";
            snprintf(why, sizeof why, "this build does not include the %s backend", ids[i]);
        } else if (b->available(why, sizeof why) != 0) {
            status = "not installed";
        }
        if (b)
            mallet_caps_format(b->caps, caps, sizeof caps);
        fprintf(f, "    {\"id\": \"%s\", \"status\": \"%s\", \"version\": ", ids[i], status);
        mallet_json_str(f, strcmp(status, "ok") == 0 ? b->version() : "-");
        fprintf(f, ", \"capabilities\": \"%s\", \"note\": ", caps);
        mallet_json_str(f, why);
        fprintf(f, "}%s\n", i + 1 < nb ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}
