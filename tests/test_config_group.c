/*
 * config, the keys of running several rfmd in one group (docs/contract.md
 * §13.3a, §13.3b): processing.guarantee and what it needs, and the one
 * orders topic a changelog restore can position; input.repartition and what
 * it needs (§13.3); breakpoints.* (§13.3c, the group's round).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rfm/config.h"

static int load(config *c, const char *yaml, char *err, size_t errlen) {
    return config_load_string(c, "t.yaml", yaml, strlen(yaml), err, errlen);
}

/* yaml must be refused with a message containing want. */
static void refused(const char *yaml, const char *want) {
    config c;
    char err[512] = "";
    if (load(&c, yaml, err, sizeof err) == 0) {
        config_free(&c);
        fail_msg("accepted: %s", yaml);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    config_free(&c);
}

static void test_guarantee_default_and_values(void **state) {
    (void)state;
    config c;
    char err[512] = "";
    assert_int_equal(load(&c, "", err, sizeof err), 0);
    assert_int_equal(c.processing.guarantee, CONFIG_AT_LEAST_ONCE);
    assert_string_equal(config_guarantee_name(c.processing.guarantee), "at_least_once");
    config_free(&c);
    assert_int_equal(load(&c,
                          "kafka: {brokers: \"k:9092\"}\nchangelog: {enabled: true}\n"
                          "processing: {guarantee: exactly_once}\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.processing.guarantee, CONFIG_EXACTLY_ONCE);
    assert_string_equal(config_guarantee_name(c.processing.guarantee), "exactly_once");
    config_free(&c);
    assert_int_equal(load(&c, "processing: {guarantee: at_least_once}\n", err, sizeof err), 0);
    assert_int_equal(c.processing.guarantee, CONFIG_AT_LEAST_ONCE);
    config_free(&c);
}

static void test_guarantee_refused(void **state) {
    (void)state;
    refused("processing: {guarantee: twice}\n", "t.yaml:1:");
    refused("processing: {guarantee: twice}\n", "exactly_once");
    /* Exactly-once state is the changelog's committed records. */
    refused("kafka: {brokers: \"k:9092\"}\nprocessing:\n  guarantee: exactly_once\n",
            "t.yaml:3:14: processing.guarantee: exactly_once needs changelog.enabled: true");
    /* The embedded (mock) cluster has no transactions. */
    refused("kafka: {brokers: embedded}\nchangelog: {enabled: true}\n"
            "processing: {guarantee: exactly_once}\n",
            "needs a real Kafka cluster");
    refused("processing: {nothing: 1}\n", "processing.nothing");
}

static void test_changelog_one_orders_topic(void **state) {
    (void)state;
    refused("topics: {orders: [a, b]}\nchangelog: {enabled: true}\n",
            "changelog.enabled: needs exactly one topics.orders topic (2 given)");
    config c;
    char err[512] = "";
    assert_int_equal(load(&c, "topics: {orders: [a, b]}\n", err, sizeof err), 0);
    config_free(&c);
}

static void test_repartition(void **state) {
    (void)state;
    config c;
    char err[512] = "";
    assert_int_equal(load(&c, "kafka: {group_id: g}\n", err, sizeof err), 0);
    assert_false(c.input.repartition);
    assert_string_equal(c.input.repartition_topic, "g-repartition");
    char *const *t;
    assert_int_equal(config_state_topics(&c, &t), 1);
    assert_string_equal(t[0], "orders");
    config_free(&c);
    /* The state topic is the repartition topic: several orders topics with
     * a changelog are fine then. */
    assert_int_equal(load(&c,
                          "kafka: {group_id: g}\ntopics: {orders: [a, b]}\n"
                          "input: {partitioner: consistent_random, repartition: true}\n"
                          "changelog: {enabled: true}\n",
                          err, sizeof err),
                     0);
    assert_true(c.input.repartition);
    assert_int_equal(config_state_topics(&c, &t), 1);
    assert_string_equal(t[0], "g-repartition");
    assert_true(config_is_state_topic(&c, "g-repartition"));
    assert_false(config_is_state_topic(&c, "a"));
    config_free(&c);
    assert_int_equal(load(&c,
                          "input: {partitioner: murmur2_random, repartition: true, "
                          "repartition_topic: rk}\n",
                          err, sizeof err),
                     0);
    assert_string_equal(c.input.repartition_topic, "rk");
    config_free(&c);
    refused("input: {repartition: true}\n",
            "t.yaml:1:22: input.repartition: needs input.partitioner murmur2_random or "
            "consistent_random");
    refused("input: {partitioner: murmur2_random, repartition: yes}\n", "input.repartition");
    refused("input: {partitioner: murmur2_random, repartition: true, repartition_topic: orders}\n",
            "orders is also a topics.orders topic");
    refused("input: {partitioner: murmur2_random, repartition: true, repartition_topic: "
            "rfm.segments}\n",
            "already another topic of rfmd's");
}

/* breakpoints.scope: auto resolves to group with the changelog, local
 * without; the topics default from kafka.group_id. */
static void test_breakpoints_scope(void **state) {
    (void)state;
    config c;
    char err[512] = "";
    assert_int_equal(load(&c, "", err, sizeof err), 0);
    assert_int_equal(c.breakpoints.scope, CONFIG_BP_LOCAL);
    assert_int_equal(c.breakpoints.round_timeout_ms, 10000);
    config_free(&c);
    assert_int_equal(
        load(&c, "kafka: {group_id: g}\nchangelog: {enabled: true}\n", err, sizeof err), 0);
    assert_int_equal(c.breakpoints.scope, CONFIG_BP_GROUP);
    assert_string_equal(c.breakpoints.topic, "g-breakpoints");
    assert_string_equal(c.breakpoints.control_topic, "g-control");
    config_free(&c);
    assert_int_equal(load(&c,
                          "changelog: {enabled: true}\n"
                          "breakpoints: {scope: local, round_timeout: 2s, topic: bp, "
                          "control_topic: ctl}\n",
                          err, sizeof err),
                     0);
    assert_int_equal(c.breakpoints.scope, CONFIG_BP_LOCAL);
    assert_int_equal(c.breakpoints.round_timeout_ms, 2000);
    assert_string_equal(c.breakpoints.topic, "bp");
    assert_string_equal(c.breakpoints.control_topic, "ctl");
    config_free(&c);
}

static void test_breakpoints_refused(void **state) {
    (void)state;
    refused("breakpoints:\n  scope: everyone\n", "t.yaml:2:10:");
    /* A round over partial state would be exact about the wrong customers. */
    refused("breakpoints:\n  scope: group\n",
            "t.yaml:2:10: breakpoints.scope: group needs changelog.enabled: true");
    refused("changelog: {enabled: true}\nbreakpoints: {topic: x, control_topic: x}\n",
            "is also breakpoints.control_topic");
    refused("changelog: {enabled: true}\nbreakpoints: {topic: rfm.segments}\n",
            "rfm.segments is already another topic of rfmd's");
    refused("changelog: {enabled: true}\nbreakpoints: {control_topic: orders}\n",
            "orders is also a topics.orders topic");
    refused("changelog: {enabled: true}\nbreakpoints: {round_timeout: 10ms}\n", "at least 100ms");
    refused("breakpoints: {nothing: 1}\n", "breakpoints.nothing");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarantee_default_and_values),
        cmocka_unit_test(test_guarantee_refused),
        cmocka_unit_test(test_changelog_one_orders_topic),
        cmocka_unit_test(test_repartition),
        cmocka_unit_test(test_breakpoints_scope),
        cmocka_unit_test(test_breakpoints_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
