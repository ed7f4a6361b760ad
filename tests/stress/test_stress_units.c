/*
 * test_stress_units.c — unit tests of the pieces `mallet stress` and
 * `mallet security` share: the identity pattern (a single flipped byte is
 * found at its offset), backend selection (the grammar of `mallet bench`),
 * the loud not-built answer, and the misuse case table.
 */
#include <string.h>

#include "security/security.h"
#include "stress/stress.h"
#include "support/test.h"

static bool selected(const stress_selection_t *s, const char *id)
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
        stress_selection_t s;
        CHECK_EQ(stress_select_backends("test", "all", &s), 0);
        CHECK(s.n >= 7 && selected(&s, "nano") && selected(&s, "tc"));
        CHECK_EQ(stress_select_backends("test", "own", &s), 0);
        CHECK(s.n >= 3 && selected(&s, "scalable") && !selected(&s, "sys"));
        CHECK_EQ(stress_select_backends("test", "peers,no-tc", &s), 0);
        CHECK(s.n == 3 && selected(&s, "sys") && selected(&s, "je") && selected(&s, "mi"));
        CHECK_EQ(stress_select_backends("test", "je,sys", &s), 0);
        CHECK(s.n == 2 && strcmp(s.id[0], "sys") == 0); /* listing order */
        CHECK_EQ(stress_select_backends("test", "bogus", &s), 2);
        CHECK_EQ(stress_select_backends("test", "sys,no-sys", &s), 2);
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
