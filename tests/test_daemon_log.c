/*
 * log: journald priority prefixes, the text format, choosing between them
 * (JOURNAL_STREAM, log_format_parse), level filtering, rate limiting.
 * stderr is redirected to a temporary file and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rfmd/log.h"

static int saved_stderr = -1;
static FILE *capture;

static void capture_start(void) {
    capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(capture), STDERR_FILENO);
}

/* Returns what was logged (caller frees). */
static char *capture_end(void) {
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    long n = ftell(capture);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(capture);
    assert_int_equal(fread(buf, 1, (size_t)n, capture), (size_t)n);
    fclose(capture);
    return buf;
}

static void test_prefix_and_level(void **state) {
    (void)state;
    log_set_prefix(true);
    log_set_level(LOG_LEVEL_NOTICE);
    capture_start();
    log_error("disk %s", "gone");
    log_warning("w");
    log_notice("n");
    log_info("hidden");
    log_debug("hidden too");
    log_msg(LOG_LEVEL_WARNING, "two\nlines");
    char *out = capture_end();
    assert_string_equal(out, "<3>disk gone\n<4>w\n<5>n\n<4>two lines\n");
    free(out);
    log_set_level(LOG_LEVEL_INFO);
}

static void test_level_names(void **state) {
    (void)state;
    assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("WARNING"), LOG_LEVEL_WARNING);
    assert_int_equal(log_level_parse("warn"), LOG_LEVEL_WARNING);
    assert_int_equal(log_level_parse("error"), LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("loud"), -1);
    assert_int_equal(log_level_parse(NULL), -1);
    assert_string_equal(log_level_name(LOG_LEVEL_NOTICE), "notice");
}

static void test_ratelimit(void **state) {
    (void)state;
    log_set_prefix(true);
    log_ratelimit rl;
    log_ratelimit_init(&rl, 200, 2);
    capture_start();
    assert_true(log_rl(&rl, LOG_LEVEL_WARNING, "bad %d", 1));
    assert_true(log_rl(&rl, LOG_LEVEL_WARNING, "bad %d", 2));
    for (int i = 3; i <= 10; i++)
        assert_false(log_rl(&rl, LOG_LEVEL_WARNING, "bad %d", i));
    usleep(250 * 1000);
    assert_true(log_rl(&rl, LOG_LEVEL_WARNING, "bad %d", 11));
    char *out = capture_end();
    assert_string_equal(out, "<4>bad 1\n<4>bad 2\n<4>(8 similar messages suppressed)\n<4>bad 11\n");
    free(out);
}

static void test_long_line_truncated(void **state) {
    (void)state;
    log_set_prefix(true);
    char *big = malloc(10000);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    capture_start();
    log_notice("%s", big);
    char *out = capture_end();
    size_t n = strlen(out);
    assert_true(n < 2100);
    assert_memory_equal(out + n - 4, "...\n", 4);
    free(out);
    free(big);
}

/* "HH:MM:SS.mmm level: message\n" */
static void assert_text_line(const char *line, const char *level, const char *msg) {
    char want[256];
    snprintf(want, sizeof want, " %s: %s\n", level, msg);
    assert_true(strlen(line) == 12 + strlen(want));
    for (int i = 0; i < 12; i++)
        assert_true(i == 2 || i == 5 ? line[i] == ':'
                    : i == 8         ? line[i] == '.'
                                     : line[i] >= '0' && line[i] <= '9');
    assert_string_equal(line + 12, want);
}

static void test_text_format(void **state) {
    (void)state;
    log_set_format(LOG_FORMAT_TEXT);
    assert_false(log_journal_prefix());
    capture_start();
    log_warning("disk %s", "low");
    char *out = capture_end();
    assert_text_line(out, "warning", "disk low");
    free(out);
}

/* auto: the journal prefix exactly when JOURNAL_STREAM names stderr. */
static void test_auto_journal_stream(void **state) {
    (void)state;
    capture_start();
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char js[64];

    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    assert_true(log_stderr_is_journal());
    log_set_format(LOG_FORMAT_AUTO);
    assert_true(log_journal_prefix());
    log_notice("to the journal");

    /* Another file (stderr redirected by the service): text. */
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
    setenv("JOURNAL_STREAM", js, 1);
    assert_false(log_stderr_is_journal());
    log_set_format(LOG_FORMAT_AUTO);
    assert_false(log_journal_prefix());
    log_notice("to a file");

    /* Garbage and absence: text; forced journal wins over auto. */
    setenv("JOURNAL_STREAM", "12:x", 1);
    assert_false(log_stderr_is_journal());
    unsetenv("JOURNAL_STREAM");
    assert_false(log_stderr_is_journal());
    log_set_format(LOG_FORMAT_JOURNAL);
    log_error("forced");
    char *out = capture_end();
    const char *second = strchr(out, '\n');
    assert_non_null(second);
    assert_memory_equal(out, "<5>to the journal\n", 18);
    char *third = strchr(second + 1, '\n');
    assert_non_null(third);
    assert_string_equal(third + 1, "<3>forced\n");
    third[1] = '\0';
    assert_text_line(second + 1, "notice", "to a file");
    free(out);
}

static void test_format_names(void **state) {
    (void)state;
    assert_int_equal(log_format_parse("auto"), LOG_FORMAT_AUTO);
    assert_int_equal(log_format_parse("journal"), LOG_FORMAT_JOURNAL);
    assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
    assert_int_equal(log_format_parse("syslog"), -1);
    assert_int_equal(log_format_parse(NULL), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_level), cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_ratelimit),        cmocka_unit_test(test_long_line_truncated),
        cmocka_unit_test(test_text_format),      cmocka_unit_test(test_auto_journal_stream),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
