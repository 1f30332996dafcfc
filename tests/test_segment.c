/* segment: the seeds' map, first-match order, the pattern language. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/segment.h"

static const char *name_at(const segment_map *m, int r, int f) {
    return segment_name(m, segment_of(m, r, f));
}

/* Every RF code of the default map, as the seeds' regex replace names it. */
static void test_default_map_all_codes(void **state) {
    (void)state;
    static const char *const expect[6][6] = {
        [1] = {NULL, "hibernating", "hibernating", "at_risk", "at_risk", "cant_loose"},
        [2] = {NULL, "hibernating", "hibernating", "at_risk", "at_risk", "cant_loose"},
        [3] = {NULL, "about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers",
               "loyal_customers"},
        [4] = {NULL, "promising", "potential_loyalists", "potential_loyalists", "loyal_customers",
               "loyal_customers"},
        [5] = {NULL, "new_customers", "potential_loyalists", "potential_loyalists", "champions",
               "champions"},
    };
    segment_map m;
    segment_map_default(&m, 5);
    assert_int_equal(m.nrules, 10);
    assert_int_equal(m.nsegments, 10);
    for (int r = 1; r <= 5; r++)
        for (int f = 1; f <= 5; f++) {
            uint8_t seg = segment_of(&m, r, f);
            assert_true(seg >= 1 && seg <= 10);
            assert_string_equal(segment_name(&m, seg), expect[r][f]);
        }
    /* Segment indices follow rule order, names as in SPEC §3. */
    static const char *const names[] = {
        "hibernating",     "at_risk",   "cant_loose",    "about_to_sleep",      "need_attention",
        "loyal_customers", "promising", "new_customers", "potential_loyalists", "champions"};
    static const char *const patterns[] = {"[1-2][1-2]", "[1-2][3-4]", "[1-2]5", "3[1-2]",
                                           "33",         "[3-4][4-5]", "41",     "51",
                                           "[4-5][2-3]", "5[4-5]"};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(segment_find(&m, names[i]), i + 1);
        assert_string_equal(m.rules[i].pattern, patterns[i]);
        assert_int_equal(m.rules[i].segment, i + 1);
    }
}

static void test_out_of_range_and_names(void **state) {
    (void)state;
    segment_map m;
    segment_map_default(&m, 5);
    assert_int_equal(segment_of(&m, 0, 3), 0);
    assert_int_equal(segment_of(&m, 3, 0), 0);
    assert_int_equal(segment_of(&m, 6, 1), 0);
    assert_int_equal(segment_of(&m, 1, 6), 0);
    assert_int_equal(segment_of(&m, -1, -1), 0);
    assert_string_equal(segment_name(&m, 0), SEGMENT_UNMATCHED_NAME);
    assert_string_equal(segment_name(&m, 11), SEGMENT_UNMATCHED_NAME);
    assert_string_equal(segment_name(&m, 255), SEGMENT_UNMATCHED_NAME);
    assert_int_equal(segment_find(&m, "champions"), 10);
    assert_int_equal(segment_find(&m, "Champions"), -1);
    assert_int_equal(segment_find(&m, ""), -1);
    assert_int_equal(segment_find(&m, SEGMENT_UNMATCHED_NAME), 0);
}

/* The seeds' map is for 5 bins; any other count starts empty. */
static void test_default_other_bins_empty(void **state) {
    (void)state;
    segment_map m;
    segment_map_default(&m, 3);
    assert_int_equal(m.bins, 3);
    assert_int_equal(m.nrules, 0);
    assert_int_equal(m.nsegments, 0);
    for (int r = 1; r <= 3; r++)
        for (int f = 1; f <= 3; f++)
            assert_int_equal(segment_of(&m, r, f), 0);
}

static void test_first_match_wins(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 5);
    assert_int_equal(segment_map_add(&m, "55", "top", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "[1-5][1-5]", "rest", err, sizeof err), 0);
    /* A later rule cannot take a cell back. */
    assert_int_equal(segment_map_add(&m, "5[4-5]", "champions", err, sizeof err), 0);
    assert_string_equal(name_at(&m, 5, 5), "top");
    assert_string_equal(name_at(&m, 5, 4), "rest");
    assert_string_equal(name_at(&m, 1, 1), "rest");
    assert_int_equal(m.nrules, 3);
    assert_int_equal(m.nsegments, 3);
    /* "champions" exists as a name but owns no cell. */
    assert_int_equal(segment_find(&m, "champions"), 3);
    for (int r = 1; r <= 5; r++)
        for (int f = 1; f <= 5; f++)
            assert_int_not_equal(segment_of(&m, r, f), 3);
}

static void test_same_name_shares_index(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 5);
    assert_int_equal(segment_map_add(&m, "11", "low", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "55", "high", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "22", "low", err, sizeof err), 0);
    assert_int_equal(m.nrules, 3);
    assert_int_equal(m.nsegments, 2);
    assert_int_equal(segment_of(&m, 1, 1), segment_of(&m, 2, 2));
    assert_int_equal(segment_of(&m, 1, 1), 1);
    assert_int_equal(segment_of(&m, 5, 5), 2);
    assert_int_equal(segment_of(&m, 3, 3), 0); /* unmatched */
    assert_string_equal(name_at(&m, 3, 3), "unclassified");
}

static void test_classes(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 5);
    assert_int_equal(segment_map_add(&m, "[45][1-2]", "a", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "[13-4]5", "b", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "[2][2-2]", "c", err, sizeof err), 0);
    assert_string_equal(name_at(&m, 4, 1), "a");
    assert_string_equal(name_at(&m, 5, 2), "a");
    assert_string_equal(name_at(&m, 3, 1), "unclassified");
    assert_string_equal(name_at(&m, 4, 3), "unclassified");
    assert_string_equal(name_at(&m, 1, 5), "b");
    assert_string_equal(name_at(&m, 3, 5), "b");
    assert_string_equal(name_at(&m, 4, 5), "b");
    assert_string_equal(name_at(&m, 2, 5), "unclassified");
    assert_string_equal(name_at(&m, 2, 2), "c");
    assert_string_equal(name_at(&m, 2, 1), "unclassified");
}

static void test_bins_9(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 9);
    assert_int_equal(segment_map_add(&m, "9[7-9]", "top", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "[1-9][1-9]", "rest", err, sizeof err), 0);
    assert_string_equal(name_at(&m, 9, 8), "top");
    assert_string_equal(name_at(&m, 9, 6), "rest");
    assert_string_equal(name_at(&m, 1, 9), "rest");
    /* 3 bins: digits above 3 are errors. */
    segment_map_init(&m, 3);
    assert_int_equal(segment_map_add(&m, "[1-3]3", "x", err, sizeof err), 0);
    assert_int_equal(segment_map_add(&m, "4[1-3]", "y", err, sizeof err), -1);
    assert_non_null(strstr(err, "outside 1..3"));
}

/* Each bad rule is rejected with a message naming the problem, and leaves
 * the map as it was. */
static void test_bad_patterns(void **state) {
    (void)state;
    static const struct {
        const char *pattern, *name, *msg;
    } bad[] = {
        {"", "x", "missing the R"},
        {"5", "x", "missing the F"},
        {"555", "x", "trailing '5'"},
        {"[1-2][1-2]x", "x", "trailing 'x'"},
        {"61", "x", "outside 1..5"},
        {"06", "x", "outside 1..5"},
        {"1[0-2]", "x", "outside 1..5"},
        {"[1-6]1", "x", "outside 1..5"},
        {"[2-1]1", "x", "reversed"},
        {"[1-2", "x", "unclosed"},
        {"[]1", "x", "empty class"},
        {"[a]1", "x", "unexpected 'a'"},
        {"[1-]1", "x", "incomplete range"},
        {"a1", "x", "unexpected 'a'"},
        {".5", "x", "unexpected '.'"},
        {"1*", "x", "unexpected '*'"},
        {"[1-2][3-4][5]", "x", "trailing"},
        {"[1-2][1-2][1-2][1-2][1-2][1-2][1-2]", "x", "too long"},
        {"11", "", "1..63 characters"},
        {"11", "unclassified", "reserved"},
        {"11", "a,b", "comma"},
        {"11", "a\nb", "control character"},
        {"11", "0123456789012345678901234567890123456789012345678901234567890123", "1..63"},
    };
    segment_map m;
    segment_map_default(&m, 5);
    segment_map before = m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        int rc = segment_map_add(&m, bad[i].pattern, bad[i].name, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].msg))
            fail_msg("pattern '%s' name '%s': rc %d, err '%s' (want '%s')", bad[i].pattern,
                     bad[i].name, rc, err, bad[i].msg);
        assert_memory_equal(&m, &before, sizeof m);
    }
    /* NULL err is allowed. */
    assert_int_equal(segment_map_add(&m, "x", "y", NULL, 0), -1);
    assert_int_equal(segment_map_add(&m, NULL, "y", NULL, 0), -1);
}

static void test_too_many_rules(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 5);
    for (int i = 0; i < SEGMENT_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(segment_map_add(&m, "11", name, err, sizeof err), 0);
    }
    assert_int_equal(segment_map_add(&m, "22", "more", err, sizeof err), -1);
    assert_non_null(strstr(err, "too many segment rules"));
    assert_string_equal(name_at(&m, 1, 1), "s0");
}

static void test_bad_bins(void **state) {
    (void)state;
    segment_map m;
    char err[256];
    segment_map_init(&m, 10);
    assert_int_equal(segment_map_add(&m, "11", "x", err, sizeof err), -1);
    assert_non_null(strstr(err, "bins 10"));
    assert_int_equal(segment_of(&m, 1, 1), 0);
    segment_map_init(&m, 1);
    assert_int_equal(segment_map_add(&m, "11", "x", err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_map_all_codes),
        cmocka_unit_test(test_out_of_range_and_names),
        cmocka_unit_test(test_default_other_bins_empty),
        cmocka_unit_test(test_first_match_wins),
        cmocka_unit_test(test_same_name_shares_index),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_bins_9),
        cmocka_unit_test(test_bad_patterns),
        cmocka_unit_test(test_too_many_rules),
        cmocka_unit_test(test_bad_bins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
