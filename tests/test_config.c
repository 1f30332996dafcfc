/*
 * config: the defaults of SPEC §7, the shipped conf/rfmd.yaml equal to them
 * field by field, every key read from a full custom file
 * (tests/data/config/full.yaml), and each kind of mistake reported with its
 * exact "file:line:col: key: problem" message, leaving the caller's struct
 * zeroed and nothing leaked (run under ASan for the latter).
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
    memset(c, 0xa5, sizeof *c); /* whatever was there is overwritten */
    return config_load_string(c, "t.yaml", yaml, strlen(yaml), err, errlen);
}

static void source_path(char *buf, size_t len, const char *rel) {
    const char *src = getenv("RFM_SOURCE");
    if (!src)
        fail_msg("RFM_SOURCE is not set (ctest sets it)");
    snprintf(buf, len, "%s/%s", src, rel);
}

static void assert_zeroed(const config *c) {
    static const config zero;
    assert_memory_equal(c, &zero, sizeof zero);
}

static void assert_props_equal(const config_prop *a, size_t na, const config_prop *b, size_t nb) {
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i].key, b[i].key);
        assert_string_equal(a[i].value, b[i].value);
    }
}

/* Every field but path. */
static void assert_config_equal(const config *a, const config *b) {
    assert_string_equal(a->kafka.brokers, b->kafka.brokers);
    assert_string_equal(a->kafka.group_id, b->kafka.group_id);
    assert_props_equal(a->kafka.consumer, a->kafka.nconsumer, b->kafka.consumer,
                       b->kafka.nconsumer);
    assert_props_equal(a->kafka.producer, a->kafka.nproducer, b->kafka.producer,
                       b->kafka.nproducer);
    assert_int_equal(a->topics.norders, b->topics.norders);
    for (size_t i = 0; i < a->topics.norders; i++)
        assert_string_equal(a->topics.orders[i], b->topics.orders[i]);
    assert_string_equal(a->topics.segments, b->topics.segments);
    assert_string_equal(a->topics.dead_letter, b->topics.dead_letter);
    assert_int_equal(a->input.partitioner, b->input.partitioner);
    assert_int_equal(a->changelog.enabled, b->changelog.enabled);
    assert_string_equal(a->changelog.topic, b->changelog.topic);
    assert_string_equal(a->fields.order_id, b->fields.order_id);
    assert_string_equal(a->fields.customer_id, b->fields.customer_id);
    assert_string_equal(a->fields.ts, b->fields.ts);
    assert_string_equal(a->fields.amount, b->fields.amount);
    assert_string_equal(a->fields.currency, b->fields.currency);
    assert_string_equal(a->fields.channel, b->fields.channel);
    assert_string_equal(a->fields.categories, b->fields.categories);
    assert_int_equal(a->max_message_bytes, b->max_message_bytes);
    assert_int_equal(a->scoring.bins, b->scoring.bins);
    assert_int_equal(a->scoring.tie_break, b->scoring.tie_break);
    assert_int_equal(a->scoring.clock, b->scoring.clock);
    assert_int_equal(a->scoring.as_of_offset_days, b->scoring.as_of_offset_days);
    assert_int_equal(a->scoring.as_of_fixed, b->scoring.as_of_fixed);
    /* The compiled map: rules, names and the r x f table. */
    assert_int_equal(a->segments.bins, b->segments.bins);
    assert_int_equal(a->segments.nrules, b->segments.nrules);
    assert_int_equal(a->segments.nsegments, b->segments.nsegments);
    for (int i = 0; i < a->segments.nrules; i++) {
        assert_string_equal(a->segments.rules[i].pattern, b->segments.rules[i].pattern);
        assert_int_equal(a->segments.rules[i].segment, b->segments.rules[i].segment);
    }
    for (int i = 0; i <= a->segments.nsegments; i++)
        assert_string_equal(a->segments.names[i], b->segments.names[i]);
    assert_memory_equal(a->segments.table, b->segments.table, sizeof a->segments.table);
    assert_int_equal(a->rescore.interval_ms, b->rescore.interval_ms);
    assert_string_equal(a->snapshot.dir, b->snapshot.dir);
    assert_int_equal(a->snapshot.interval_ms, b->snapshot.interval_ms);
    assert_int_equal(a->snapshot.keep, b->snapshot.keep);
    assert_string_equal(a->http.listen, b->http.listen);
    assert_string_equal(a->log.level, b->log.level);
    assert_string_equal(a->log.format, b->log.format);
}

/* SPEC §3's default map, cell by cell: [r][f], r and f 1..5. */
static const char *const spec_map[5][5] = {
    {"hibernating", "hibernating", "at_risk", "at_risk", "cant_loose"},
    {"hibernating", "hibernating", "at_risk", "at_risk", "cant_loose"},
    {"about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"},
    {"promising", "potential_loyalists", "potential_loyalists", "loyal_customers",
     "loyal_customers"},
    {"new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"},
};

static void test_defaults(void **state) {
    (void)state;
    config c;
    memset(&c, 0xa5, sizeof c);
    assert_int_equal(config_defaults(&c), 0);
    assert_null(c.path);
    assert_string_equal(c.kafka.brokers, "127.0.0.1:9092");
    assert_string_equal(c.kafka.group_id, "rfmd");
    assert_int_equal(c.kafka.nconsumer, 0);
    assert_int_equal(c.kafka.nproducer, 0);
    assert_int_equal(c.topics.norders, 1);
    assert_string_equal(c.topics.orders[0], "orders");
    assert_null(c.topics.orders[1]);
    assert_string_equal(c.topics.segments, "rfm.segments");
    assert_string_equal(c.topics.dead_letter, "rfm.orders.dlq");
    /* No keying check unless asked for (conf/rfmd.yaml says why). */
    assert_int_equal(c.input.partitioner, CONFIG_PARTITIONER_TRUST);
    /* No changelog unless asked for; its topic follows the group. */
    assert_false(c.changelog.enabled);
    assert_string_equal(c.changelog.topic, "rfmd-changelog");
    /* SPEC §2 field names. */
    assert_string_equal(c.fields.order_id, "order_id");
    assert_string_equal(c.fields.customer_id, "customer_id");
    assert_string_equal(c.fields.ts, "ts");
    assert_string_equal(c.fields.amount, "amount");
    assert_string_equal(c.fields.currency, "currency");
    assert_string_equal(c.fields.channel, "channel");
    assert_string_equal(c.fields.categories, "categories");
    assert_int_equal(c.max_message_bytes, 64 * 1024);
    assert_int_equal(c.scoring.bins, 5);
    assert_int_equal(c.scoring.tie_break, SCORE_TIE_CUSTOMER_ID);
    assert_int_equal(c.scoring.clock, SCORE_CLOCK_EVENT);
    assert_int_equal(c.scoring.as_of_offset_days, 2);
    assert_int_equal(c.scoring.as_of_fixed, 0);
    assert_int_equal(c.rescore.interval_ms, 60 * 1000);
    assert_string_equal(c.snapshot.dir, "/var/lib/rfmd");
    assert_int_equal(c.snapshot.interval_ms, 5 * 60 * 1000);
    assert_int_equal(c.snapshot.keep, 3);
    assert_string_equal(c.http.listen, "127.0.0.1:9464");
    assert_string_equal(c.log.level, "info");
    assert_string_equal(c.log.format, "auto");
    /* The segment map of SPEC §3: ten rules in order, and what they mean. */
    static const char *const rules[][2] = {
        {"[1-2][1-2]", "hibernating"},
        {"[1-2][3-4]", "at_risk"},
        {"[1-2]5", "cant_loose"},
        {"3[1-2]", "about_to_sleep"},
        {"33", "need_attention"},
        {"[3-4][4-5]", "loyal_customers"},
        {"41", "promising"},
        {"51", "new_customers"},
        {"[4-5][2-3]", "potential_loyalists"},
        {"5[4-5]", "champions"},
    };
    assert_int_equal(c.segments.bins, 5);
    assert_int_equal(c.segments.nrules, 10);
    assert_int_equal(c.segments.nsegments, 10);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(c.segments.rules[i].pattern, rules[i][0]);
        assert_string_equal(segment_name(&c.segments, c.segments.rules[i].segment), rules[i][1]);
    }
    for (int r = 1; r <= 5; r++)
        for (int f = 1; f <= 5; f++)
            assert_string_equal(segment_name(&c.segments, segment_of(&c.segments, r, f)),
                                spec_map[r - 1][f - 1]);
    config_free(&c);
    assert_zeroed(&c);
    config_free(&c); /* freeing twice is harmless: the struct was zeroed */
}

static void test_shipped_file_is_defaults(void **state) {
    (void)state;
    char path[4096], err[512];
    source_path(path, sizeof path, "conf/rfmd.yaml");
    config c, d;
    if (config_load(&c, path, err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.path, path);
    assert_int_equal(config_defaults(&d), 0);
    assert_config_equal(&c, &d);
    config_free(&c);
    config_free(&d);
}

static void test_empty_is_defaults(void **state) {
    (void)state;
    const char *empties[] = {"",
                             "\n\n",
                             "# nothing but a comment\n",
                             "---\n",
                             "---\n...\n",
                             "kafka:\ntopics:\ninput:\nfields:\nlimits:\nscoring:\nrescore:\n"
                             "snapshot:\nhttp:\nlog:\n",
                             "kafka: {consumer: {}, producer: }\n"};
    config d;
    assert_int_equal(config_defaults(&d), 0);
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        config c;
        char err[512];
        if (load(&c, empties[i], err, sizeof err))
            fail_msg("\"%s\": %s", empties[i], err);
        assert_string_equal(c.path, "t.yaml");
        assert_config_equal(&c, &d);
        config_free(&c);
    }
    /* An empty file on disk too. */
    char path[] = "/tmp/rfm-config-empty-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    config c;
    char err[512];
    if (config_load(&c, path, err, sizeof err))
        fail_msg("%s", err);
    assert_config_equal(&c, &d);
    assert_string_equal(c.path, path);
    config_free(&c);
    unlink(path);
    config_free(&d);
}

static void test_full_file(void **state) {
    (void)state;
    char path[4096], err[512];
    source_path(path, sizeof path, "tests/data/config/full.yaml");
    config c;
    memset(&c, 0xa5, sizeof c);
    if (config_load(&c, path, err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.path, path);
    assert_string_equal(c.kafka.brokers, "b1.example:9092,b2.example:9093");
    assert_string_equal(c.kafka.group_id, "rfmd-test");
    /* Properties pass through as text, in file order. */
    static const config_prop consumer[] = {{"security.protocol", "SASL_SSL"},
                                           {"fetch.max.bytes", "1048576"},
                                           {"enable.partition.eof", "true"},
                                           {"sasl.password", "p: w#rd"},
                                           {"client.rack", ""}};
    assert_props_equal(c.kafka.consumer, c.kafka.nconsumer, consumer, 5);
    static const config_prop producer[] = {{"linger.ms", "5"}, {"compression.type", "zstd"}};
    assert_props_equal(c.kafka.producer, c.kafka.nproducer, producer, 2);
    assert_int_equal(c.topics.norders, 3);
    assert_string_equal(c.topics.orders[0], "orders.web");
    assert_string_equal(c.topics.orders[1], "orders.store");
    assert_string_equal(c.topics.orders[2], "orders.app");
    assert_string_equal(c.topics.segments, "rfm.segments.v2");
    assert_string_equal(c.topics.dead_letter, "rfm.orders.dead");
    assert_int_equal(c.input.partitioner, CONFIG_PARTITIONER_MURMUR2);
    assert_string_equal(c.fields.order_id, "InvoiceNo");
    assert_string_equal(c.fields.customer_id, "CustomerID");
    assert_string_equal(c.fields.ts, "InvoiceDate");
    assert_string_equal(c.fields.amount, "total");
    assert_string_equal(c.fields.currency, "cur");
    assert_string_equal(c.fields.channel, "order_channel");
    assert_string_equal(c.fields.categories, "interested_in_categories_12");
    assert_int_equal(c.max_message_bytes, 256 * 1024);
    assert_int_equal(c.scoring.bins, 3);
    assert_int_equal(c.scoring.tie_break, SCORE_TIE_FIRST_ORDER);
    assert_int_equal(c.scoring.clock, SCORE_CLOCK_WALL);
    assert_int_equal(c.scoring.as_of_offset_days, 7);
    assert_int_equal(c.scoring.as_of_fixed, 0);
    assert_int_equal(c.rescore.interval_ms, 90 * 1000);
    assert_string_equal(c.snapshot.dir, "relative/snapshots");
    assert_int_equal(c.snapshot.interval_ms, 2 * 3600 * 1000);
    assert_int_equal(c.snapshot.keep, 10);
    assert_string_equal(c.http.listen, "");
    assert_string_equal(c.log.level, "warning");
    /* Segments for 3 bins, compiled although they came before scoring.bins. */
    const segment_map *m = &c.segments;
    assert_int_equal(m->bins, 3);
    assert_int_equal(m->nrules, 5);
    assert_int_equal(m->nsegments, 4);
    assert_string_equal(m->names[1], "best");
    assert_string_equal(m->names[2], "new_ones");
    assert_string_equal(m->names[3], "gone");
    assert_string_equal(m->names[4], "never_reached");
    static const char *const want[3][3] = {{"gone", "gone", "gone"},
                                           {"new_ones", "best", "unclassified"},
                                           {"new_ones", "best", "best"}};
    for (int r = 1; r <= 3; r++)
        for (int f = 1; f <= 3; f++)
            assert_string_equal(segment_name(m, segment_of(m, r, f)), want[r - 1][f - 1]);
    assert_int_equal(segment_of(m, 2, 3), 0);
    assert_int_equal(segment_of(m, 4, 1), 0); /* outside 3 bins */
    config_free(&c);
}

static void test_values(void **state) {
    (void)state;
    static const struct {
        const char *yaml;
        size_t bytes;
    } sizes[] = {{"limits: {max_message_bytes: 64}\n", 64},
                 {"limits: {max_message_bytes: 65536}\n", 65536},
                 {"limits: {max_message_bytes: 100B}\n", 100},
                 {"limits: {max_message_bytes: 1KiB}\n", 1024},
                 {"limits: {max_message_bytes: 64KiB}\n", 65536},
                 {"limits: {max_message_bytes: 1MiB}\n", 1048576},
                 {"limits: {max_message_bytes: 64MiB}\n", 64 * 1048576},
                 {"limits: {max_message_bytes: 10k}\n", 10000},
                 {"limits: {max_message_bytes: 2M}\n", 2000000}};
    config c;
    char err[512];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (load(&c, sizes[i].yaml, err, sizeof err))
            fail_msg("%s: %s", sizes[i].yaml, err);
        assert_int_equal(c.max_message_bytes, sizes[i].bytes);
        config_free(&c);
    }

    /* topics.orders as a single string; a quoted value; a list in flow style. */
    if (load(&c, "topics: {orders: \"my orders\"}\n", err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(c.topics.norders, 1);
    assert_string_equal(c.topics.orders[0], "my orders");
    config_free(&c);
    if (load(&c, "topics:\n  orders: [a, b]\n", err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(c.topics.norders, 2);
    assert_string_equal(c.topics.orders[0], "a");
    assert_string_equal(c.topics.orders[1], "b");
    config_free(&c);

    /* Other accepted forms and the ends of each range. */
    if (load(&c,
             "http: {listen: \"[::1]:65535\"}\n"
             "scoring: {bins: 5, tie_break: customer_id, clock: event, as_of_offset_days: 3650}\n"
             "snapshot: {keep: 100, interval: 1d}\n"
             "rescore: {interval: 1ms}\n"
             "log: {level: error, format: journal}\n"
             "kafka: {brokers: embedded}\n",
             err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.http.listen, "[::1]:65535");
    assert_int_equal(c.scoring.as_of_offset_days, 3650);
    assert_int_equal(c.snapshot.keep, 100);
    assert_int_equal(c.snapshot.interval_ms, 86400000);
    assert_int_equal(c.rescore.interval_ms, 1);
    assert_string_equal(c.log.level, "error");
    assert_string_equal(c.log.format, "journal");
    assert_string_equal(c.kafka.brokers, "embedded");
    assert_int_equal(c.segments.nrules, 10); /* bins 5 given: the default map */
    config_free(&c);

    /* http.listen: "off" is "" (disabled); port 0 asks for any free port. */
    if (load(&c, "http: {listen: off}\n", err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.http.listen, "");
    config_free(&c);
    if (load(&c, "http: {listen: \"127.0.0.1:0\"}\n", err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(c.http.listen, "127.0.0.1:0");
    config_free(&c);

    /* input.partitioner: each spelling, and its name back. */
    static const struct {
        const char *name;
        config_partitioner p;
    } parts[] = {{"murmur2_random", CONFIG_PARTITIONER_MURMUR2},
                 {"consistent_random", CONFIG_PARTITIONER_CONSISTENT},
                 {"trust", CONFIG_PARTITIONER_TRUST}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char yaml[128];
        snprintf(yaml, sizeof yaml, "input:\n  partitioner: %s\n", parts[i].name);
        if (load(&c, yaml, err, sizeof err))
            fail_msg("%s: %s", yaml, err);
        assert_int_equal(c.input.partitioner, parts[i].p);
        assert_string_equal(config_partitioner_name(c.input.partitioner), parts[i].name);
        config_free(&c);
    }

    /* changelog: the topic follows the final group_id whatever the key order,
     * unless given. */
    if (load(&c, "changelog: {enabled: true}\nkafka: {group_id: g1}\n", err, sizeof err))
        fail_msg("%s", err);
    assert_true(c.changelog.enabled);
    assert_string_equal(c.changelog.topic, "g1-changelog");
    config_free(&c);
    if (load(&c, "changelog: {topic: cl, enabled: false}\nkafka: {group_id: g1}\n", err,
             sizeof err))
        fail_msg("%s", err);
    assert_false(c.changelog.enabled);
    assert_string_equal(c.changelog.topic, "cl");
    assert_int_equal(c.changelog.ntopic_config, 0);
    config_free(&c);
    /* changelog.topic_config: passed through as strings, in file order. */
    if (load(&c,
             "changelog:\n  topic_config:\n    segment.bytes: 1048576\n    segment.ms: "
             "\"3600000\"\n",
             err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(c.changelog.ntopic_config, 2);
    assert_string_equal(c.changelog.topic_config[0].key, "segment.bytes");
    assert_string_equal(c.changelog.topic_config[0].value, "1048576");
    assert_string_equal(c.changelog.topic_config[1].key, "segment.ms");
    assert_string_equal(c.changelog.topic_config[1].value, "3600000");
    config_free(&c);

    /* Rules for 5 bins replace the default map entirely. */
    if (load(&c, "segments:\n  - {pattern: \"5[1-5]\", name: recent}\n", err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(c.segments.nrules, 1);
    assert_string_equal(segment_name(&c.segments, segment_of(&c.segments, 5, 3)), "recent");
    assert_string_equal(segment_name(&c.segments, segment_of(&c.segments, 4, 3)), "unclassified");
    config_free(&c);
}

typedef struct bad_case {
    const char *yaml;
    const char *message;
} bad_case;

static const bad_case bad_cases[] = {
    /* unknown keys, with and without a suggestion */
    {"scoring:\n  binz: 5\n", "t.yaml:2:3: scoring.binz: unknown key (did you mean 'bins'?)"},
    {"kafak: {}\n", "t.yaml:1:1: kafak: unknown key (did you mean 'kafka'?)"},
    {"kafka: {gropu_id: x}\n",
     "t.yaml:1:9: kafka.gropu_id: unknown key (did you mean 'group_id'?)"},
    {"kafka: {zzzzzzzzz: x}\n", "t.yaml:1:9: kafka.zzzzzzzzz: unknown key"},
    {"segments:\n  - {pattern: \"11\", name: a, color: red}\n",
     "t.yaml:2:30: segments[0].color: unknown key (a rule has 'pattern' and 'name')"},
    /* wrong types */
    {"kafka: [1, 2]\n", "t.yaml:1:8: kafka: expected a mapping of keys, got a list"},
    {"hello\n", "t.yaml:1:1: (top level): expected a mapping of keys, got a scalar"},
    {"? [a]\n: 1\n", "t.yaml:1:3: (top level): keys must be plain names"},
    {"kafka: {brokers: [a]}\n", "t.yaml:1:18: kafka.brokers: expected a single value, got a list"},
    {"log: {level: {a: b}}\n", "t.yaml:1:14: log.level: expected a single value, got a mapping"},
    {"kafka:\n  consumer: x\n",
     "t.yaml:2:13: kafka.consumer: expected a mapping of librdkafka properties, got a scalar"},
    {"kafka:\n  consumer: {a: [1]}\n",
     "t.yaml:2:17: kafka.consumer.a: expected a single value, got a list"},
    {"topics: {orders: {a: b}}\n",
     "t.yaml:1:18: topics.orders: expected a topic name or a list of topic names"},
    {"segments:\n",
     "t.yaml:1:10: segments: expected a list of {pattern, name} rules, got a scalar"},
    {"segments:\n  - hello\n",
     "t.yaml:2:5: segments[0]: expected {pattern: ..., name: ...}, got a scalar"},
    /* values out of range */
    {"scoring:\n  bins: 7x\n",
     "t.yaml:2:9: scoring.bins: must be an integer from 2 to 9, got \"7x\""},
    {"scoring:\n  bins: 10\n",
     "t.yaml:2:9: scoring.bins: must be an integer from 2 to 9, got \"10\""},
    {"scoring:\n  bins: 1\n",
     "t.yaml:2:9: scoring.bins: must be an integer from 2 to 9, got \"1\""},
    {"scoring: {tie_break: random}\n",
     "t.yaml:1:22: scoring.tie_break: must be customer_id or first_order, got \"random\""},
    {"input:\n  partitioner: murmur2\n",
     "t.yaml:2:16: input.partitioner: must be murmur2_random, consistent_random or trust, got "
     "\"murmur2\""},
    {"input: {partitoner: trust}\n",
     "t.yaml:1:9: input.partitoner: unknown key (did you mean 'partitioner'?)"},
    {"input: [trust]\n", "t.yaml:1:8: input: expected a mapping of keys, got a list"},
    {"changelog:\n  enabled: yes\n",
     "t.yaml:2:12: changelog.enabled: must be true or false, got \"yes\""},
    {"changelog: {topic: \"\"}\n", "t.yaml:1:20: changelog.topic: must not be empty"},
    {"changelog:\n  topic_config: 64MB\n",
     "t.yaml:2:17: changelog.topic_config: expected a mapping of Kafka topic properties, got a "
     "scalar"},
    {"changelog:\n  topic_config:\n    segment.bytes: \"1048576\"\n    cleanup.policy: delete\n",
     "t.yaml:4:5: changelog.topic_config.cleanup.policy: not settable: a changelog is always "
     "compacted (cleanup.policy=compact)"},
    {"changelog:\n  topic_config: {segment.bytes: 1, segment.bytes: 2}\n",
     "t.yaml:2:36: changelog.topic_config.segment.bytes: duplicate property"},
    {"changelog: {enable: true}\n",
     "t.yaml:1:13: changelog.enable: unknown key (did you mean 'enabled'?)"},
    {"scoring: {clock: sun}\n", "t.yaml:1:18: scoring.clock: must be event or wall, got \"sun\""},
    {"scoring: {as_of_offset_days: -1}\n",
     "t.yaml:1:30: scoring.as_of_offset_days: must be an integer from 0 to 3650, got \"-1\""},
    {"snapshot: {keep: 0}\n",
     "t.yaml:1:18: snapshot.keep: must be an integer from 1 to 100, got \"0\""},
    {"http: {listen: nowhere}\n",
     "t.yaml:1:16: http.listen: must be \"host:port\" (port 0-65535, 0: any free port) or \"\" / "
     "off to disable, got \"nowhere\""},
    {"http: {listen: \"h:65536\"}\n",
     "t.yaml:1:16: http.listen: must be \"host:port\" (port 0-65535, 0: any free port) or \"\" / "
     "off to disable, got \"h:65536\""},
    {"log: {level: loud}\n",
     "t.yaml:1:14: log.level: must be debug, info, notice, warning or error, got \"loud\""},
    {"log: {format: syslog}\n",
     "t.yaml:1:15: log.format: must be auto, journal or text, got \"syslog\""},
    {"limits: {max_message_bytes: 12}\n",
     "t.yaml:1:29: limits.max_message_bytes: must be a size from 64 bytes to 64MiB (e.g. 65536, "
     "64KiB, 1MiB), got \"12\""},
    {"limits: {max_message_bytes: 65MiB}\n",
     "t.yaml:1:29: limits.max_message_bytes: must be a size from 64 bytes to 64MiB (e.g. 65536, "
     "64KiB, 1MiB), got \"65MiB\""},
    {"limits: {max_message_bytes: 64kb}\n",
     "t.yaml:1:29: limits.max_message_bytes: must be a size from 64 bytes to 64MiB (e.g. 65536, "
     "64KiB, 1MiB), got \"64kb\""},
    {"kafka:\n  group_id: \"\"\n", "t.yaml:2:13: kafka.group_id: must not be empty"},
    {"fields: {ts: \"\"}\n", "t.yaml:1:14: fields.ts: must not be empty"},
    /* durations */
    {"rescore:\n  interval: 60\n", "t.yaml:2:13: rescore.interval: \"60\" is not a positive "
                                   "duration: a number with a unit, e.g. 500ms, 2s, 5m, 1h, 1d"},
    {"snapshot: {interval: 1.5h}\n", "t.yaml:1:22: snapshot.interval: \"1.5h\" is not a positive "
                                     "duration: a number with a unit, e.g. 500ms, 2s, 5m, 1h, 1d"},
    /* duplicates */
    {"kafka:\n  brokers: a\n  brokers: b\n",
     "t.yaml:3:3: kafka.brokers: duplicate key (first given at line 2)"},
    {"log: {level: info}\nlog: {level: info}\n",
     "t.yaml:2:1: log: duplicate key (first given at line 1)"},
    {"kafka:\n  consumer: {a: 1, a: 2}\n", "t.yaml:2:20: kafka.consumer.a: duplicate property"},
    {"segments:\n  - {pattern: \"11\", pattern: \"22\", name: a}\n",
     "t.yaml:2:21: segments[0].pattern: duplicate key"},
    /* topics */
    {"topics:\n  orders: []\n", "t.yaml:2:11: topics.orders: at least one topic is needed"},
    {"topics: {orders: \"\"}\n", "t.yaml:1:18: topics.orders: must not be empty"},
    {"topics: {orders: [a, \"\"]}\n", "t.yaml:1:22: topics.orders: must not be empty"},
    {"topics: {orders: [t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, "
     "t17]}\n",
     "t.yaml:1:18: topics.orders: more than 16 topics"},
    /* segments */
    {"segments:\n  - {pattern: \"6x\", name: a}\n",
     "t.yaml:2:15: segments[0]: segment pattern '6x': R (first) score 6 is outside 1..5"},
    {"segments:\n  - {pattern: \"11\", name: a}\n  - {pattern: \"[1-2]\", name: b}\n",
     "t.yaml:3:15: segments[1]: segment pattern '[1-2]': missing the F (second) position (a "
     "pattern is two positions, e.g. \"[1-2]5\")"},
    {"scoring:\n  bins: 3\nsegments:\n  - {pattern: \"44\", name: a}\n",
     "t.yaml:4:15: segments[0]: segment pattern '44': R (first) score 4 is outside 1..3"},
    {"segments:\n  - {pattern: \"11\"}\n",
     "t.yaml:2:5: segments[0]: a rule needs both 'pattern' and 'name'"},
    {"segments:\n  - {name: a}\n",
     "t.yaml:2:5: segments[0]: a rule needs both 'pattern' and 'name'"},
    {"segments:\n  - {pattern: \"11\", name: unclassified}\n",
     "t.yaml:2:15: segments[0]: segment name 'unclassified' is reserved for customers no rule "
     "matches; choose another"},
    {"segments: []\n", "t.yaml:1:11: segments: at least one rule is needed"},
    {"scoring:\n  bins: 3\n",
     "t.yaml:2:9: scoring.bins: the default segment map is for 5 bins; with 3 bins give "
     "'segments:' rules"},
    /* YAML itself */
    {"kafka: [\n",
     "t.yaml:2:1: YAML syntax error: did not find expected node content while parsing a flow "
     "node"},
    {"kafka:\n  brokers: \"a\n",
     "t.yaml:3:1: YAML syntax error: found unexpected end of stream while scanning a quoted "
     "scalar"},
    {"\tkafka: 1\n", "t.yaml:1:1: YAML syntax error: found character that cannot start any token "
                     "while scanning for the next token"},
    {"kafka: {brokers: b}\n---\nkafka: {brokers: c}\n",
     "t.yaml:2:1: (top level): a second YAML document; the file must hold one"},
};

static void test_errors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        config c;
        char err[512];
        memset(err, 0, sizeof err);
        if (load(&c, bad_cases[i].yaml, err, sizeof err) != -1)
            fail_msg("accepted: %s", bad_cases[i].yaml);
        if (strcmp(err, bad_cases[i].message))
            fail_msg("case %zu:\n got  %s\n want %s", i, err, bad_cases[i].message);
        assert_zeroed(&c); /* nothing half applied, nothing left to free */
        config_free(&c);
    }
    /* Messages are cut to the buffer, never past it. */
    config c;
    char small[24];
    memset(small, 'z', sizeof small);
    assert_int_equal(load(&c, bad_cases[0].yaml, small, 20), -1);
    assert_string_equal(small, "t.yaml:2:3: scoring");
    assert_int_equal(small[20], 'z');
}

/* A reload loads into a second struct: a bad file leaves the running config
 * as it was, a good one replaces it. */
static void test_reload(void **state) {
    (void)state;
    config running, next;
    char err[512];
    assert_int_equal(load(&running, "kafka: {group_id: one}\n", err, sizeof err), 0);
    assert_int_equal(load(&next, "kafka: {group_id: two, bogus: 1}\n", err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:1:24: kafka.bogus: unknown key");
    assert_zeroed(&next);
    assert_string_equal(running.kafka.group_id, "one");
    assert_int_equal(load(&next, "kafka: {group_id: two}\n", err, sizeof err), 0);
    config_free(&running);
    running = next;
    assert_string_equal(running.kafka.group_id, "two");
    config_free(&running);
}

static void write_file(const char *path, const char *line, size_t times) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < times; i++)
        fputs(line, f);
    assert_int_equal(fclose(f), 0);
}

static void test_files(void **state) {
    (void)state;
    char path[] = "/tmp/rfm-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    config c;
    char err[512], want[600];

    /* Exactly 1 MiB is accepted, one byte more is not. */
    write_file(path, "# padding line.\n", CONFIG_MAX_FILE_BYTES / 16);
    if (config_load(&c, path, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(c.scoring.bins, 5);
    config_free(&c);
    FILE *f = fopen(path, "a");
    fputc('\n', f);
    fclose(f);
    memset(&c, 0xa5, sizeof c);
    assert_int_equal(config_load(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: larger than 1048576 bytes; is this the right file?", path);
    assert_string_equal(err, want);
    assert_zeroed(&c);

    /* Errors in a file name the file. */
    write_file(path, "# one\nscoring:\n  bins: 3\n", 1);
    memset(&c, 0xa5, sizeof c);
    assert_int_equal(config_load(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "%s:3:9: scoring.bins: the default segment map is for 5 bins; with 3 bins give "
             "'segments:' rules",
             path);
    assert_string_equal(err, want);
    assert_zeroed(&c);

    unlink(path);
    memset(&c, 0xa5, sizeof c);
    assert_int_equal(config_load(&c, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    assert_zeroed(&c);

    memset(&c, 0xa5, sizeof c);
    assert_int_equal(config_load(&c, "/", err, sizeof err), -1);
    assert_string_equal(err, "/: cannot read: Is a directory");
    assert_zeroed(&c);
}

static void test_durations(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {{"500ms", 500},
                {"1ms", 1},
                {"2s", 2000},
                {"60s", 60000},
                {"90s", 90000},
                {"5m", 300000},
                {"1h", 3600000},
                {"1d", 86400000},
                {"007s", 7000},
                {"9223372036854775807ms", INT64_MAX},
                {"9223372036854775s", 9223372036854775000LL}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        if (config_parse_duration(good[i].s, &ms))
            fail_msg("\"%s\" rejected", good[i].s);
        assert_true(ms == good[i].ms);
    }
    static const char *const bad[] = {"",
                                      "60",
                                      "0s",
                                      "0ms",
                                      "-1s",
                                      "+1s",
                                      " 1s",
                                      "1s ",
                                      "1.5s",
                                      "s",
                                      "ms",
                                      "1 s",
                                      "1w",
                                      "1S",
                                      "1sec",
                                      "1mss",
                                      "1hh",
                                      "1m1s",
                                      "1e3ms",
                                      "9223372036854776s",
                                      "18446744073709551616ms",
                                      "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 12345;
        if (config_parse_duration(bad[i], &ms) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(ms, 12345); /* untouched on error */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_file_is_defaults),
        cmocka_unit_test(test_empty_is_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
