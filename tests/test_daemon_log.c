/*
 * log: journald priority prefixes, level filtering, rate limiting.
 * stderr is redirected to a temporary file and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rfm/log.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_level),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_long_line_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
