/*
 * security/security_main.c — `mallet security`: runs every case of the
 * misuse matrix (security_cases.c) against every selected backend, each
 * (backend, case) in its own child, classifies the outcome, holds it to
 * the zone's capability flags and writes the table as Markdown, CSV and
 * JSON into results/<date>_<host>_security/ (or --out DIR).
 *
 * Promise rules (which flag a case is held to: security.h):
 *   must be detected    the handler got a report, or check() failed
 *                       afterwards; for peers an abort with a message
 *                       counts too (they have no handler). An own backend
 *                       that aborts despite the recording handler did not
 *                       use mallet's error path: that breaks the promise.
 *   detected or harmless  as above, or silent without an overlapping or
 *                       attacker-chosen block (the write hit no link);
 *   front end           every backend: NULL/error code with the errno the
 *                       front end documents (mallet/mallet.h).
 * Exit status: 0 no promise broken, 1 some promise broken, 2 bad usage,
 * 77 no selected backend is usable here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json_out.h"
#include "cli/commands.h"
#include "common/backend_select.h"
#include "common/results_dir.h"
#include "mallet/mallet.h"
#include "os/os.h"
#include "security/security.h"
#include "stress/stress.h"
#include "stress/stress_internal.h"



typedef struct backend_result {
    char id[16], version[64], caps[256], why[256];
    bool usable;
    sec_result_t *r;
} backend_result_t;

const char *sec_outcome_name(sec_outcome_t o)
{
    switch (o) {
    case OUT_DETECTED: return "detected";
    case OUT_DETECTED_CHECK: return "detected (check)";
    case OUT_DETECTED_ABORT: return "detected (abort)";
    case OUT_CRASHED: return "crashed";
    case OUT_HUNG: return "crashed (hung)";
    case OUT_SILENT: return "silent";
    case OUT_SILENT_OVERLAP: return "silent (overlap)";
    case OUT_SILENT_ATTACKER: return "silent (attacker-chosen)";
    case OUT_NULL_ERRNO: return "null+errno";
    case OUT_NOT_RUN: return "not run";
    }
    return "?";
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mallet security [options]\n\n"
            "Runs the misuse matrix: one small case per heap bug, each in its own child,\n"
            "against every selected backend; classifies each outcome (detected, crashed,\n"
            "silent [overlap/attacker-chosen], null+errno) and checks it against the\n"
            "backend's capability flags.\n\n"
            "  --backends LIST   all (default) | own | peers | IDs, comma-separated; no-ID removes one\n"
            "  --cases LIST      case names, comma-separated (default: all; see --list)\n"
            "  --out DIR         write security.md/.csv/.json to DIR\n"
            "                    (default results/<date>_<host>_security)\n"
            "  --timeout S       per-case limit; a hung case counts as crashed (default 5)\n"
            "  --list            list the cases and exit\n\n"
            "Exit status: 0 no promise broken, 1 a backend broke a promise of its\n"
            "capability flags, 2 bad usage, 77 no selected backend is usable here.\n");
}

/* ---- the child ----------------------------------------------------------------- */

static sec_shared_t *child_shared;

static void record(const mallet_error_report_t *r, void *ctx)
{
    (void)ctx;
    sec_shared_t *sh = child_shared;
    if (sh->nreports < 4) {
        sh->rep[sh->nreports].kind = r->kind;
        snprintf(sh->rep[sh->nreports].msg, sizeof sh->rep[0].msg, "%s", r->message);
    }
    sh->nreports++;
}

static void run_child(const mallet_backend_t *b, const sec_case_t *c, sec_shared_t *sh, unsigned timeout)
{
    alarm(timeout);
    child_shared = sh;
    mallet_error_set_handler(record, NULL);
    stress_zone_t sz;
    char err[256] = "";
    if (stress_zone_open(&sz, b, err, sizeof err) != 0) {
        sh->not_run = 1;
        snprintf(sh->note, sizeof sh->note, "cannot create a zone: %s", err);
        _exit(0);
    }
    sh->zone_caps = sz.z->caps;
    sh->zone_dfi_max = sz.z->double_free_immediate_max;
    sec_ctx_t ctx = {sz.z, sh};
    c->run(&ctx);
    if (sh->nreports == 0 && !sh->not_run && c->cat != SEC_FRONTEND && (sz.z->caps & MALLET_CAP_CHECK)) {
        snprintf(sh->step, sizeof sh->step, "check()");
        if (!mallet_check(sz.z))
            sh->check_failed = 1;
    }
    sh->finished = 1;
    _exit(0);
}

/* First line of the child's stderr that says something. */
static void first_line(const char *buf, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = buf; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool useful = false;
        for (size_t i = 0; i < n; i++)
            useful |= p[i] != '=' && p[i] != ' ' && p[i] != '\r';
        if (useful) {
            snprintf(out, len, "%.*s", (int)(n < 200 ? n : 200), p);
            return;
        }
        if (!e)
            break;
        p = e + 1;
    }
}

void sec_run_case(const mallet_backend_t *b, const sec_case_t *c, unsigned timeout, sec_result_t *res,
                     uint64_t *caps)
{
    memset(res, 0, sizeof *res);
    res->c = c;
    sec_shared_t *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int pfd[2];
    if (sh == MAP_FAILED || pipe(pfd) != 0) {
        res->out = OUT_NOT_RUN;
        snprintf(res->detail, sizeof res->detail, "harness: %s", strerror(errno));
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 2);
        close(pfd[1]);
        signal(SIGPIPE, SIG_DFL);
        run_child(b, c, sh, timeout);
    }
    close(pfd[1]);
    char buf[8192];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof buf - 1) { /* keep draining, drop the rest */
            char sink[4096];
            while ((n = read(pfd[0], sink, sizeof sink)) > 0 || (n < 0 && errno == EINTR)) {
            }
            break;
        }
    }
    buf[got] = '\0';
    close(pfd[0]);
    int st = 0;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    *caps = sh->zone_caps;
    res->zone_dfi_max = (size_t)sh->zone_dfi_max;
    char line[256];
    first_line(buf, line, sizeof line);
    if (pid < 0) {
        res->out = OUT_NOT_RUN;
        snprintf(res->detail, sizeof res->detail, "fork: %s", strerror(errno));
    } else if (sh->nreports) {
        res->out = strcmp(sh->step, "check()") == 0 ? OUT_DETECTED_CHECK : OUT_DETECTED;
        snprintf(res->detail, sizeof res->detail, "%s: %s", mallet_error_kind_name(sh->rep[0].kind),
                 sh->rep[0].msg);
    } else if (sh->check_failed) {
        res->out = OUT_DETECTED_CHECK;
        snprintf(res->detail, sizeof res->detail, "check() returned 0 without a report");
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        if (sig == SIGALRM) {
            res->out = OUT_HUNG;
            snprintf(res->detail, sizeof res->detail, "no result after %u s during %s%s%s", timeout, sh->step,
                     sh->note[0] ? "; before that: " : "", sh->note);
        } else if (sig == SIGABRT && line[0]) {
            res->out = OUT_DETECTED_ABORT;
            snprintf(res->abort_line, sizeof res->abort_line, "%s", line);
            snprintf(res->detail, sizeof res->detail, "SIGABRT during %s", sh->step);
        } else {
            res->out = OUT_CRASHED;
            snprintf(res->detail, sizeof res->detail, "signal %d (%s) during %s%s%s%s%s", sig, strsignal(sig),
                     sh->step, sh->note[0] ? "; before that: " : "", sh->note, line[0] ? "; stderr: " : "", line);
        }
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !sh->finished) {
        res->out = sh->not_run ? OUT_NOT_RUN : OUT_CRASHED;
        snprintf(res->detail, sizeof res->detail, "%s%sexit %d during %s%s%s", sh->note, sh->note[0] ? "; " : "",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, sh->step, line[0] ? "; stderr: " : "", line);
    } else if (sh->not_run) {
        res->out = OUT_NOT_RUN;
        snprintf(res->detail, sizeof res->detail, "%s", sh->note);
    } else if (sh->returned_null) {
        res->out = OUT_NULL_ERRNO;
        snprintf(res->detail, sizeof res->detail, "%s (%s)%s%s", strerrorname_np(sh->err) ? strerrorname_np(sh->err) : "?",
                 strerror(sh->err), sh->note[0] ? "; " : "", sh->note);
    } else {
        res->out = sh->attacker ? OUT_SILENT_ATTACKER : sh->overlap ? OUT_SILENT_OVERLAP : OUT_SILENT;
        snprintf(res->detail, sizeof res->detail, "%s%s%s", sh->note, line[0] ? (sh->note[0] ? "; printed: " : "printed: ") : "",
                 line);
    }
    res->no_header = sh->no_header;
    munmap(sh, sizeof *sh);
}

/* ---- promises ------------------------------------------------------------------ */

void sec_judge(sec_result_t *r, uint64_t caps, bool is_peer)
{
    bool no_header = r->no_header;
    r->broken = false;
    sec_outcome_t o = r->out;
    bool detected = o == OUT_DETECTED || o == OUT_DETECTED_CHECK || (is_peer && o == OUT_DETECTED_ABORT);
    bool harmless = detected || o == OUT_SILENT;
    uint64_t flag = 0;
    bool need_detect = false;
    switch (r->c->cat) {
    case SEC_DOUBLE_FREE: flag = MALLET_CAP_DETECT_DOUBLE_FREE; need_detect = true; break;
    case SEC_DOUBLE_FREE_IMMEDIATE: /* held to the stronger flag where the zone claims it */
        flag = (caps & MALLET_CAP_DETECT_DOUBLE_FREE) ? MALLET_CAP_DETECT_DOUBLE_FREE
                                                      : MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE;
        need_detect = true;
        break;
    case SEC_INVALID_FREE: flag = MALLET_CAP_DETECT_INVALID_FREE; need_detect = true; break;
    case SEC_FREELIST: flag = MALLET_CAP_DETECT_FREELIST_CORRUPTION; break;
    case SEC_HEADER: flag = MALLET_CAP_DETECT_HEADER_CORRUPTION; need_detect = !no_header; break;
    case SEC_HEADER_SOFT: flag = MALLET_CAP_DETECT_HEADER_CORRUPTION; break;
    case SEC_REALLOC: flag = MALLET_CAP_DETECT_INVALID_REALLOC; need_detect = true; break;
    case SEC_FRONTEND: {
        bool ok = o == OUT_NULL_ERRNO && strncmp(r->detail, strerrorname_np(r->c->expect_errno), 6) == 0;
        snprintf(r->promise, sizeof r->promise, "%s: front end requires NULL + %s", ok ? "kept" : "BROKEN",
                 strerrorname_np(r->c->expect_errno));
        r->broken = !ok;
        return;
    }
    }
    char name[64];
    mallet_caps_format(flag, name, sizeof name);
    if (!(caps & flag)) {
        snprintf(r->promise, sizeof r->promise, "none (does not claim %s)", name);
        return;
    }
    /* The immediate promise may stop at a size (ptmalloc: its fastbin
     * limit, as glibc's checks); a bigger block is not covered. */
    if (flag == MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE && r->zone_dfi_max != 0 && r->c->bytes > r->zone_dfi_max) {
        snprintf(r->promise, sizeof r->promise, "none (%s covers blocks of at most %zu B; this one is %zu B)", name,
                 r->zone_dfi_max, r->c->bytes);
        return;
    }
    bool ok = o != OUT_NOT_RUN && (need_detect ? detected : harmless);
    r->broken = !ok;
    snprintf(r->promise, sizeof r->promise, "%s: claims %s, so %s", ok ? "kept" : "BROKEN", name,
             o == OUT_NOT_RUN ? "the case must run" : need_detect ? "must be detected" : "detected or harmless");
}

/* ---- output -------------------------------------------------------------------- */

/* "detected (abort: <first stderr line>)" for peers' aborts; else the name. */
static const char *outcome_text(const sec_result_t *r, char *buf, size_t len)
{
    if (r->out == OUT_DETECTED_ABORT) {
        snprintf(buf, len, "detected (abort: %s)", r->abort_line);
        return buf;
    }
    return sec_outcome_name(r->out);
}

static void csv_field(FILE *f, const char *s, bool last)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
    fputs(last ? "\"\n" : "\",", f);
}

static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[2]){*s == '\n' ? ' ' : *s, 0}, f);
}

static int write_outputs(const char *dir, backend_result_t *br, size_t nb, const sec_case_t *const *cases,
                         size_t nc)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/security.md", dir);
    FILE *md = fopen(path, "w");
    snprintf(path, sizeof path, "%s/security.csv", dir);
    FILE *csv = fopen(path, "w");
    snprintf(path, sizeof path, "%s/security.json", dir);
    FILE *js = fopen(path, "w");
    if (!md || !csv || !js) {
        fprintf(stderr, "mallet security: cannot write into %s: %s\n", dir, strerror(errno));
        if (md) fclose(md);
        if (csv) fclose(csv);
        if (js) fclose(js);
        return -1;
    }
    fprintf(md, "# mallet security: misuse matrix\n\n"
                "Each case ran in its own child process with the recording error handler.\n"
                "Outcomes: detected (error path), detected (check), detected (abort: peer's message),\n"
                "crashed (signal / hung), silent [overlap / attacker-chosen], null+errno.\n");
    fprintf(csv, "backend,version,case,what,outcome,detail,promise,broken\n");
    fprintf(js, "{\n  \"backends\": [\n");
    for (size_t i = 0; i < nb; i++) {
        backend_result_t *b = &br[i];
        fprintf(md, "\n## %s%s%s\n\n", b->id, b->usable ? " — " : "", b->usable ? b->version : "");
        fprintf(js, "    {\"id\": ");
        mallet_json_str(js, b->id);
        if (!b->usable) {
            fprintf(md, "NOT RUN: %s\n", b->why);
            fprintf(js, ", \"usable\": false, \"why\": ");
            mallet_json_str(js, b->why);
            fprintf(js, ", \"cases\": []}%s\n", i + 1 < nb ? "," : "");
            csv_field(csv, b->id, false);
            csv_field(csv, "", false);
            csv_field(csv, "*", false);
            csv_field(csv, "", false);
            csv_field(csv, "not run", false);
            csv_field(csv, b->why, false);
            csv_field(csv, "", false);
            csv_field(csv, "0", true);
            continue;
        }
        fprintf(md, "Capabilities: %s\n\n| case | outcome | detail | promise |\n|---|---|---|---|\n",
                b->caps[0] ? b->caps : "(none)");
        fprintf(js, ", \"usable\": true, \"version\": ");
        mallet_json_str(js, b->version);
        fprintf(js, ", \"caps\": ");
        mallet_json_str(js, b->caps);
        fprintf(js, ",\n     \"cases\": [\n");
        for (size_t k = 0; k < nc; k++) {
            sec_result_t *r = &b->r[k];
            char otext[400];
            const char *ot = outcome_text(r, otext, sizeof otext);
            fprintf(md, "| %s | %s", cases[k]->name, r->broken ? "**" : "");
            md_cell(md, ot);
            fprintf(md, "%s | ", r->broken ? "**" : "");
            md_cell(md, r->detail);
            fprintf(md, " | ");
            md_cell(md, r->promise);
            fprintf(md, " |\n");
            csv_field(csv, b->id, false);
            csv_field(csv, b->version, false);
            csv_field(csv, cases[k]->name, false);
            csv_field(csv, cases[k]->what, false);
            csv_field(csv, ot, false);
            csv_field(csv, r->detail, false);
            csv_field(csv, r->promise, false);
            csv_field(csv, r->broken ? "1" : "0", true);
            fprintf(js, "       {\"case\": ");
            mallet_json_str(js, cases[k]->name);
            fprintf(js, ", \"what\": ");
            mallet_json_str(js, cases[k]->what);
            fprintf(js, ", \"outcome\": ");
            mallet_json_str(js, ot);
            fprintf(js, ", \"detail\": ");
            mallet_json_str(js, r->detail);
            fprintf(js, ", \"promise\": ");
            mallet_json_str(js, r->promise);
            fprintf(js, ", \"broken\": %s}%s\n", r->broken ? "true" : "false", k + 1 < nc ? "," : "");
        }
        fprintf(js, "     ]}%s\n", i + 1 < nb ? "," : "");
    }
    fprintf(js, "  ]\n}\n");
    fclose(md);
    fclose(csv);
    fclose(js);
    return 0;
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "mallet security: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n");
    usage(stderr);
    return 2;
}

int security_main(int argc, char **argv)
{
    const char *backends = "all", *out = NULL, *case_spec = NULL;
    unsigned timeout = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            for (size_t k = 0; k < sec_ncases; k++)
                printf("%-32s %s\n", sec_cases[k].name, sec_cases[k].what);
            return 0;
        } else if (!strcmp(a, "--backends") || !strcmp(a, "--out") || !strcmp(a, "--cases") ||
                   !strcmp(a, "--timeout")) {
            if (!val)
                return bad("%s needs a value", a);
            i++;
            if (!strcmp(a, "--backends"))
                backends = val;
            else if (!strcmp(a, "--out"))
                out = val;
            else if (!strcmp(a, "--cases"))
                case_spec = val;
            else {
                char *end;
                unsigned long t = strtoul(val, &end, 10);
                if (*end || t == 0 || t > 3600 || *val == '-')
                    return bad("--timeout needs seconds 1..3600, got '%s'", val);
                timeout = (unsigned)t;
            }
        } else {
            return bad("unknown option '%s'", a);
        }
    }
    const sec_case_t *cases[64];
    size_t nc = 0;
    if (case_spec) {
        char copy[1024], *save = NULL;
        snprintf(copy, sizeof copy, "%s", case_spec);
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            size_t k = 0;
            while (k < sec_ncases && strcmp(sec_cases[k].name, t))
                k++;
            if (k == sec_ncases)
                return bad("unknown case '%s' (see 'mallet security --list')", t);
            cases[nc++] = &sec_cases[k];
        }
    } else {
        for (size_t k = 0; k < sec_ncases; k++)
            cases[nc++] = &sec_cases[k];
    }
    mallet_backend_selection_t sel;
    char err[512];
    if (mallet_backend_select(backends, &sel, err, sizeof err) != 0)
        return bad("%s", err);

    char dir[4096];
    if (out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else {
        mallet_results_dir_name(dir, sizeof dir, "results", time(NULL), "security");
    }
    if (mallet_make_dirs(dir) != 0) {
        fprintf(stderr, "mallet security: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    backend_result_t *br = calloc(sel.n, sizeof *br);
    size_t usable = 0, broken = 0;
    for (size_t i = 0; i < sel.n; i++) {
        backend_result_t *b = &br[i];
        const mallet_backend_t *be;
        snprintf(b->id, sizeof b->id, "%s", sel.id[i]);
        if (stress_backend_usable(sel.id[i], &be, b->why, sizeof b->why) != 0) {
            printf("SKIP %s: %s\n", b->id, b->why);
            fprintf(stderr, "mallet security: SKIP %s: %s\n", b->id, b->why);
            continue;
        }
        b->usable = true;
        usable++;
        snprintf(b->version, sizeof b->version, "%s", be->version ? be->version() : "?");
        b->r = calloc(nc, sizeof *b->r);
        uint64_t caps = be->caps;
        printf("\n== %s (%s)\n", b->id, b->version);
        for (size_t k = 0; k < nc; k++) {
            uint64_t zcaps = 0;
            sec_run_case(be, cases[k], timeout, &b->r[k], &zcaps);
            if (zcaps)
                caps = zcaps;
            sec_judge(&b->r[k], caps, be->is_peer);
            broken += b->r[k].broken;
            char otext[400];
            printf("  %-32s %-24s %s%s\n", cases[k]->name, outcome_text(&b->r[k], otext, sizeof otext), b->r[k].detail,
                   b->r[k].broken ? "   <-- BROKEN PROMISE" : "");
            if (b->r[k].broken)
                printf("  %-32s %s\n", "", b->r[k].promise);
        }
        mallet_caps_format(caps, b->caps, sizeof b->caps);
    }
    int wrc = write_outputs(dir, br, sel.n, cases, nc);
    printf("\nresults: %s/security.{md,csv,json}\n", dir);
    printf("%zu backends run, %zu skipped, %zu broken promises\n", usable, sel.n - usable, broken);
    for (size_t i = 0; i < sel.n; i++)
        free(br[i].r);
    free(br);
    if (broken || wrc)
        return 1;
    return usable ? 0 : 77;
}
