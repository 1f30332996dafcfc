/*
 * config: defaults of SPEC §7, the shipped conf/rfmd.yaml equal to them, every
 * key read, and each kind of mistake reported as file:line:col: key: problem
 * with nothing half applied.
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

#include "rfm/config.h"

static int load(config *c, const char *yaml, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    return config_load_string(c, "t.yaml", yaml, strlen(yaml), err, errlen);
}

static void expect_error(const char *yaml, const char *message) {
    config c;
    char err[512];
    assert_int_equal(load(&c, yaml, err, sizeof err), -1);
    if (!strstr(err, message))
        fail_msg("error \"%s\" does not contain \"%s\"", err, message);
    assert_null(c.kafka.brokers); /* left freed and empty */
}

static void test_defaults(void **state) {
    (void)state;
    config c;
    assert_int_equal(config_defaults(&c), 0);
    assert_string_equal(c.kafka.brokers, "127.0.0.1:9092");
    assert_string_equal(c.kafka.group_id, "rfmd");
    assert_int_equal(c.topics.norders, 1);
    assert_string_equal(c.topics.orders[0], "orders");
    assert_string_equal(c.topics.segments, "rfm.segments");
    assert_string_equal(c.topics.dead_letter, "rfm.orders.dlq");
    assert_int_equal(c.scoring.bins, 5);
    assert_int_equal(c.scoring.tie_break, SCORE_TIE_CUSTOMER_ID);
    assert_int_equal(c.scoring.clock, SCORE_CLOCK_EVENT);
    assert_int_equal(c.scoring.as_of_offset_days, 2);
    assert_int_equal(c.rescore.interval_ms, 60000);
    assert_string_equal(c.snapshot.dir, "/var/lib/rfmd");
    assert_int_equal(c.snapshot.interval_ms, 300000);
    assert_int_equal(c.snapshot.keep, 3);
    assert_string_equal(c.http.listen, "127.0.0.1:9464");
    assert_string_equal(c.log.level, "info");
    assert_int_equal(c.segments.nrules, 10);
    config_free(&c);
}

static void test_shipped_file_is_defaults(void **state) {
    (void)state;
    const char *src = getenv("RFM_SOURCE");
    if (!src)
        fail_msg("RFM_SOURCE is not set (ctest sets it)");
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/conf/rfmd.yaml", src);
    config c = {0}, d;
    if (config_load(&c, path, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(config_defaults(&d), 0);
    assert_string_equal(c.kafka.brokers, d.kafka.brokers);
    assert_string_equal(c.kafka.group_id, d.kafka.group_id);
    assert_int_equal(c.kafka.nconsumer, 0);
    assert_int_equal(c.kafka.nproducer, 0);
    assert_string_equal(c.topics.orders[0], d.topics.orders[0]);
    assert_string_equal(c.topics.segments, d.topics.segments);
    assert_string_equal(c.topics.dead_letter, d.topics.dead_letter);
    assert_string_equal(c.fields.ts, d.fields.ts);
    assert_string_equal(c.fields.categories, d.fields.categories);
    assert_int_equal(c.max_message_bytes, d.max_message_bytes);
    assert_memory_equal(&c.scoring, &d.scoring, sizeof c.scoring);
    assert_int_equal(c.segments.nrules, d.segments.nrules);
    assert_memory_equal(c.segments.table, d.segments.table, sizeof c.segments.table);
    for (int i = 0; i <= d.segments.nsegments; i++)
        assert_string_equal(c.segments.names[i], d.segments.names[i]);
    assert_int_equal(c.rescore.interval_ms, d.rescore.interval_ms);
    assert_string_equal(c.snapshot.dir, d.snapshot.dir);
    assert_int_equal(c.snapshot.interval_ms, d.snapshot.interval_ms);
    assert_int_equal(c.snapshot.keep, d.snapshot.keep);
    assert_string_equal(c.http.listen, d.http.listen);
    assert_string_equal(c.log.level, d.log.level);
    config_free(&c);
    config_free(&d);
}

static void test_every_key(void **state) {
    (void)state;
    const char *yaml = "kafka:\n"
                       "  brokers: b1:9092,b2:9092\n"
                       "  group_id: g\n"
                       "  consumer: {security.protocol: SASL_SSL, fetch.max.bytes: 1048576}\n"
                       "  producer:\n    linger.ms: 5\n"
                       "topics:\n  orders: [o1, o2]\n  segments: s\n  dead_letter: d\n"
                       "fields: {customer_id: cust, ts: time}\n"
                       "limits: {max_message_bytes: 1MiB}\n"
                       "scoring: {bins: 3, tie_break: first_order, clock: wall, "
                       "as_of_offset_days: 0}\n"
                       "rescore: {interval: 500ms}\n"
                       "snapshot: {dir: /tmp/x, interval: 1h, keep: 7}\n"
                       "http: {listen: \"\"}\n"
                       "log: {level: debug}\n"
                       "segments:\n"
                       "  - {pattern: \"3[2-3]\", name: best}\n"
                       "  - {pattern: \"[1-3][1-3]\", name: rest}\n";
    config c;
    char err[512];
    if (load(&c, yaml, err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.kafka.brokers, "b1:9092,b2:9092");
    assert_int_equal(c.kafka.nconsumer, 2);
    assert_string_equal(c.kafka.consumer[1].key, "fetch.max.bytes");
    assert_string_equal(c.kafka.consumer[1].value, "1048576");
    assert_string_equal(c.kafka.producer[0].value, "5");
    assert_int_equal(c.topics.norders, 2);
    assert_string_equal(c.topics.orders[1], "o2");
    assert_string_equal(c.fields.customer_id, "cust");
    assert_string_equal(c.fields.ts, "time");
    assert_string_equal(c.fields.amount, "amount");
    assert_int_equal(c.max_message_bytes, 1024 * 1024);
    assert_int_equal(c.scoring.bins, 3);
    assert_int_equal(c.scoring.tie_break, SCORE_TIE_FIRST_ORDER);
    assert_int_equal(c.scoring.clock, SCORE_CLOCK_WALL);
    assert_int_equal(c.scoring.as_of_offset_days, 0);
    assert_int_equal(c.rescore.interval_ms, 500);
    assert_int_equal(c.snapshot.interval_ms, 3600000);
    assert_int_equal(c.snapshot.keep, 7);
    assert_string_equal(c.http.listen, "");
    assert_string_equal(c.log.level, "debug");
    assert_string_equal(segment_name(&c.segments, segment_of(&c.segments, 3, 3)), "best");
    assert_string_equal(segment_name(&c.segments, segment_of(&c.segments, 3, 1)), "rest");
    config_free(&c);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("scoring:\n  binz: 5\n",
                 "t.yaml:2:3: scoring.binz: unknown key (did you mean 'bins'?)");
    expect_error("scoring:\n  bins: 7x\n",
                 "t.yaml:2:9: scoring.bins: must be an integer from 2 to 9");
    expect_error("scoring:\n  bins: 10\n", "t.yaml:2:9: scoring.bins:");
    expect_error("rescore:\n  interval: 60\n",
                 "t.yaml:2:13: rescore.interval: \"60\" is not a positive duration");
    expect_error("kafka:\n  brokers: a\n  brokers: b\n",
                 "t.yaml:3:3: kafka.brokers: duplicate key (first given at line 2)");
    expect_error("kafka: [1, 2]\n", "t.yaml:1:8: kafka: expected a mapping");
    expect_error("kafka: {brokers: [a]}\n", "kafka.brokers: expected a single value, got a list");
    expect_error("topics:\n  orders: []\n", "topics.orders: at least one topic is needed");
    expect_error("segments:\n  - {pattern: \"6x\", name: a}\n",
                 "t.yaml:2:15: segments[0]: segment pattern '6x'");
    expect_error("segments:\n  - {pattern: \"11\"}\n",
                 "segments[0]: a rule needs both 'pattern' and 'name'");
    expect_error("scoring:\n  bins: 3\n", "scoring.bins: the default segment map is for 5 bins");
    expect_error("kafka: [\n", "t.yaml:2:1: YAML syntax error");
    expect_error("http: {listen: nowhere}\n", "http.listen: must be \"host:port\"");
    expect_error("log: {level: loud}\n", "log.level: must be debug, info");
    expect_error("limits: {max_message_bytes: 12}\n", "limits.max_message_bytes: must be a size");
}

static void test_too_large_and_empty(void **state) {
    (void)state;
    char path[] = "/tmp/rfm-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < CONFIG_MAX_FILE_BYTES / 16 + 1; i++)
        fputs("# padding line.\n", f);
    fclose(f);
    config c = {0};
    char err[512];
    assert_int_equal(config_load(&c, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than 1048576 bytes"));
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(config_load(&c, path, err, sizeof err), 0); /* empty = defaults */
    assert_string_equal(c.kafka.group_id, "rfmd");
    config_free(&c);
    unlink(path);
    assert_int_equal(config_load(&c, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_durations(void **state) {
    (void)state;
    int64_t ms;
    assert_int_equal(config_parse_duration("500ms", &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(config_parse_duration("2s", &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(config_parse_duration("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(config_parse_duration("1h", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(config_parse_duration("1d", &ms), 0);
    assert_int_equal(ms, 86400000);
    const char *bad[] = {"", "60", "0s", "-1s", "1.5s", "s", "1 s", "1w", "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(config_parse_duration(bad[i], &ms), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_file_is_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_large_and_empty),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
