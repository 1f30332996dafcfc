/*
 * input.repartition (docs/contract.md §3.1): orders sent to any partition
 * are re-produced keyed by customer to "<group_id>-repartition" at the
 * partition input.partitioner gives the customer, and rfmd's state is built
 * from that topic.
 *
 *   spread     every customer's three orders on three different partitions
 *              of a 4-partition orders topic, two undecodable messages, a
 *              repartition topic of 3 partitions (any count goes): each
 *              customer ends with frequency 3 and the sum of its amounts in
 *              one store (segment events), no wrong_partition dead letter,
 *              the two bad messages dead-lettered once each (stage 1 only);
 *              the repartition topic holds every valid order once, keyed by
 *              its customer, on keying_partition(murmur2, customer, 3), its
 *              value byte for byte the input's
 *   changelog  the same with changelog.enabled: the changelog is checked
 *              against the repartition topic's count, not the orders'
 *   off        input.repartition false (the default) over the same input:
 *              the repartition topic stays empty (the dead letters of that
 *              case are test_daemon_keying's)
 *
 * usage: test_daemon_repartition RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/harness.h"
#include "rfmd/keying.h"

#define NPARTS   4 /* orders */
#define RPARTS   3 /* repartition topic */
#define NCUST    20
#define NORDERS  3 /* per customer, each on another partition */
#define NBAD     2
#define RP_TOPIC HARNESS_GROUP "-repartition"
#define CL_TOPIC HARNESS_GROUP "-changelog"

static const char *rfmd_path;

/* Order k of customer i: amount (k + 1) * 10.25 + i. */
static int order_json(int i, int k, char *buf, size_t len) {
    return snprintf(buf, len,
                    "{\"order_id\":\"o-%02d-%d\",\"customer_id\":\"c-%02d\",\"ts\":"
                    "\"2021-03-0%dT10:00:00Z\",\"amount\":%d.%02d}",
                    i, k, i, k + 1, (k + 1) * 10 + i, (k + 1) * 25 % 100);
}

static long long order_cents(int i, int k) {
    return ((k + 1) * 10 + i) * 100LL + (k + 1) * 25 % 100;
}

/* Every customer's orders on NORDERS different partitions, starting at its
 * murmur2 home (so most land on the wrong one), keyed by the customer; and
 * NBAD undecodable messages. */
static void produce_spread(harness *h) {
    char cid[16], json[256];
    for (int i = 0; i < NCUST; i++) {
        snprintf(cid, sizeof cid, "c-%02d", i);
        int32_t home = keying_partition(CONFIG_PARTITIONER_MURMUR2, cid, strlen(cid), NPARTS);
        for (int k = 0; k < NORDERS; k++) {
            int n = order_json(i, k, json, sizeof json);
            harness_produce_at(h, HARNESS_ORDERS, (home + k) % NPARTS, cid, strlen(cid), json,
                               (size_t)n);
        }
    }
    for (int b = 0; b < NBAD; b++)
        harness_produce_at(h, HARNESS_ORDERS, b, "bad", 3, "not json", 8);
    harness_flush(h);
}

/* cid's last segment event, NULL when it has none. */
static const json_t *last_event(const hreader *segs, const char *cid) {
    const json_t *e = NULL;
    for (size_t i = 0; i < segs->n; i++)
        if (segs->msgs[i].json && !strcmp(hjson_str(segs->msgs[i].json, "customer_id"), cid))
            e = segs->msgs[i].json;
    return e;
}

/* An event's monetary (a JSON number of currency units) in cents. */
static long long monetary_cents(const json_t *e) {
    const json_t *v = json_object_get(e, "monetary");
    assert_true(v && json_is_number(v));
    double d = json_number_value(v) * 100.0;
    return (long long)(d < 0 ? d - 0.5 : d + 0.5);
}

static void run(harness *h, const char *extra, bool changelog) {
    harness_init(h, rfmd_path, NPARTS, 2, 1);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, RP_TOPIC, RPARTS, 1), 0);
    if (changelog)
        assert_int_equal(rd_kafka_mock_topic_create(h->mc, CL_TOPIC, RPARTS, 1), 0);
    produce_spread(h);
    harness_write_config(h, "60s", NULL, NULL, extra);
    harness_run_to_end(h, 60000);
}

static void check_repartitioned(harness *h) {
    hreader *segs = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    hreader_drain(segs, 20000);
    hreader *dlq = hreader_open(h, HARNESS_DLQ, h->dlq_parts);
    hreader_drain(dlq, 20000);
    hreader *rp = hreader_open(h, RP_TOPIC, RPARTS);
    hreader_drain(rp, 20000);

    /* Every customer whole, in one store. */
    char cid[16];
    for (int i = 0; i < NCUST; i++) {
        snprintf(cid, sizeof cid, "c-%02d", i);
        const json_t *e = last_event(segs, cid);
        long long want = 0;
        for (int k = 0; k < NORDERS; k++)
            want += order_cents(i, k);
        if (!e || hjson_int(e, "frequency") != NORDERS || monetary_cents(e) != want) {
            harness_dump_log(h);
            fail_msg("%s: frequency %lld monetary %lld, expected %d and %lld", cid,
                     e ? hjson_int(e, "frequency") : 0, e ? monetary_cents(e) : 0, NORDERS, want);
        }
    }

    /* Dead letters: the bad ones, once each, never wrong_partition. */
    if (dlq->n != NBAD) {
        harness_dump_log(h);
        fail_msg("%zu dead letters, expected %d", dlq->n, NBAD);
    }
    for (size_t i = 0; i < dlq->n; i++) {
        assert_non_null(dlq->msgs[i].error_header);
        assert_null(strstr(dlq->msgs[i].error_header, "wrong_partition"));
        assert_int_equal(dlq->msgs[i].len, 8);
        assert_memory_equal(dlq->msgs[i].value, "not json", 8);
    }

    /* The repartition topic: each valid order once, keyed and placed by
     * its customer, its value the input's. */
    assert_int_equal(rp->n, NCUST * NORDERS);
    int seen[NCUST][NORDERS];
    memset(seen, 0, sizeof seen);
    for (size_t j = 0; j < rp->n; j++) {
        const hmsg *m = &rp->msgs[j];
        assert_non_null(m->json);
        const char *c = hjson_str(m->json, "customer_id");
        assert_int_equal(m->key_len, strlen(c));
        assert_memory_equal(m->key, c, m->key_len);
        assert_int_equal(m->partition,
                         keying_partition(CONFIG_PARTITIONER_MURMUR2, c, strlen(c), RPARTS));
        int i = atoi(c + 2), k = atoi(hjson_str(m->json, "order_id") + 5);
        assert_true(i >= 0 && i < NCUST && k >= 0 && k < NORDERS);
        char json[256];
        int n = order_json(i, k, json, sizeof json);
        assert_int_equal(m->len, (size_t)n);
        assert_memory_equal(m->value, json, (size_t)n);
        seen[i][k]++;
    }
    for (int i = 0; i < NCUST; i++)
        for (int k = 0; k < NORDERS; k++)
            assert_int_equal(seen[i][k], 1);

    char want[128];
    snprintf(want, sizeof want, "repartition: %d of %d orders-topic messages re-produced to %s",
             NCUST * NORDERS, NCUST * NORDERS + NBAD, RP_TOPIC);
    if (!harness_log_contains(h, want)) {
        harness_dump_log(h);
        fail_msg("log lacks '%s'", want);
    }
    assert_false(harness_log_contains(h, "wrong_partition="));
    hreader_close(rp);
    hreader_close(dlq);
    hreader_close(segs);
}

static void test_spread(void **state) {
    harness *h = *state;
    run(h, "input:\n  partitioner: murmur2_random\n  repartition: true\n", false);
    check_repartitioned(h);
}

static void test_changelog(void **state) {
    harness *h = *state;
    run(h,
        "input:\n  partitioner: murmur2_random\n  repartition: true\n"
        "changelog:\n  enabled: true\n",
        true);
    check_repartitioned(h);
    char want[128];
    snprintf(want, sizeof want, "changelog: topic %s has %d partitions like %s", CL_TOPIC, RPARTS,
             RP_TOPIC);
    if (!harness_log_contains(h, want)) {
        harness_dump_log(h);
        fail_msg("log lacks '%s'", want);
    }
}

static void test_off(void **state) {
    harness *h = *state;
    run(h, "input:\n  partitioner: murmur2_random\n", false);
    hreader *rp = hreader_open(h, RP_TOPIC, RPARTS);
    hreader_drain(rp, 20000);
    assert_int_equal(rp->n, 0);
    hreader_close(rp);
    assert_true(harness_log_contains(h, "wrong_partition="));
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spread, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_changelog, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_off, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
