/*
 * test_stress_units.c — unit tests of the pieces `mallet stress` and
 * `mallet security` share: the identity pattern (a single flipped byte is
 * found at its offset), backend selection (the grammar of `mallet bench`),
 * the loud not-built answer, and the misuse case table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/backend_select.h"
#include "common/results_dir.h"
#include "security/security.h"
#include "stress/stress.h"
#include "support/test.h"

static bool selected(const mallet_backend_selection_t *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->id[i], id) == 0)
            return true;
    return false;
}

int main(void)
{
    TEST_CASE("pattern: fill then verify, every size 0..300 and odd offsets")
    {
        static unsigned char buf[512];
        for (size_t n = 0; n <= 300; n++) {
            stress_pattern_fill(buf + 3, n, 42 + n, 7);
            CHECK(stress_pattern_verify(buf + 3, n, 42 + n, 7) == SIZE_MAX);
        }
    }
    TEST_CASE("pattern: a flipped byte is found at its offset; other ids/gens differ")
    {
        static unsigned char buf[4096];
        stress_pattern_fill(buf, sizeof buf, 9, 1);
        for (size_t off = 0; off < sizeof buf; off += 97) {
            buf[off] ^= 1;
            CHECK_EQ(stress_pattern_verify(buf, sizeof buf, 9, 1), off);
            buf[off] ^= 1;
        }
        CHECK(stress_pattern_verify(buf, sizeof buf, 10, 1) != SIZE_MAX);
        CHECK(stress_pattern_verify(buf, sizeof buf, 9, 2) != SIZE_MAX);
        CHECK_EQ(buf[17], stress_pattern_byte(9, 1, 17));
    }
    TEST_CASE("selection: all, own, peers, IDs, no-ID")
    {
        mallet_backend_selection_t s;
        char err[512];
        CHECK_EQ(mallet_backend_select("all", &s, err, sizeof err), 0);
        CHECK(s.n >= 7 && selected(&s, "nano") && selected(&s, "tc"));
        CHECK_EQ(mallet_backend_select("own", &s, err, sizeof err), 0);
        CHECK(s.n >= 3 && selected(&s, "scalable") && !selected(&s, "sys"));
        CHECK_EQ(mallet_backend_select("peers,no-tc", &s, err, sizeof err), 0);
        CHECK(s.n == 3 && selected(&s, "sys") && selected(&s, "je") && selected(&s, "mi"));
        CHECK_EQ(mallet_backend_select("je,sys", &s, err, sizeof err), 0);
        CHECK(s.n == 2 && strcmp(s.id[0], "sys") == 0); /* listing order */
        CHECK_EQ(mallet_backend_select("bogus", &s, err, sizeof err), -1);
        CHECK(strstr(err, "unknown backend 'bogus'") != NULL && strstr(err, "ptmalloc") != NULL);
        CHECK_EQ(mallet_backend_select("sys,no-sys", &s, err, sizeof err), -1);
        CHECK(strstr(err, "selects no backend") != NULL);
    }
    TEST_CASE("results dir: name has root, date, host and tag; make_dirs makes every level")
    {
        char name[4096];
        mallet_results_dir_name(name, sizeof name, "results", 0, "stress");
        CHECK(strncmp(name, "results/1970-01-01-000000_", 26) == 0);
        CHECK(strcmp(name + strlen(name) - 7, "_stress") == 0);
        char dir[] = "/tmp/mallet-results-dir-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char deep[4096];
        snprintf(deep, sizeof deep, "%s/a/b/c", dir);
        CHECK_EQ(mallet_make_dirs(deep), 0);
        CHECK_EQ(mallet_make_dirs(deep), 0); /* existing is fine */
        struct stat st;
        CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK_EQ(system(cmd), 0);
    }
    TEST_CASE("usable: unknown and not-built backends answer 77 with a reason")
    {
        const mallet_backend_t *b;
        char why[256];
        CHECK_EQ(stress_backend_usable("nonesuch", &b, why, sizeof why), 77);
        CHECK(strstr(why, "unknown") != NULL);
        int rc = stress_backend_usable("sys", &b, why, sizeof why);
        CHECK(rc == 0 && b != NULL);
        if (mallet_backend_find("nano") == NULL) {
            CHECK_EQ(stress_backend_usable("nano", &b, why, sizeof why), 77);
            CHECK(strstr(why, "not built") != NULL);
        }
    }
    TEST_CASE("security: case names unique, every case has a runner")
    {
        CHECK(sec_ncases >= 20);
        for (size_t i = 0; i < sec_ncases; i++) {
            CHECK(sec_cases[i].run != NULL && sec_cases[i].name && sec_cases[i].what);
            for (size_t k = i + 1; k < sec_ncases; k++)
                CHECK(strcmp(sec_cases[i].name, sec_cases[k].name) != 0);
            if (sec_cases[i].cat == SEC_FRONTEND)
                CHECK(sec_cases[i].expect_errno != 0);
        }
    }
    return test_summary();
}
