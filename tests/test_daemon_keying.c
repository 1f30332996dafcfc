/*
 * The keying check (input.partitioner, docs/contract.md §3.1): an order
 * must arrive on the partition its customer_id maps to.
 *
 *   known values     keying_partition against Apache Kafka's own murmur2
 *                    test vectors (clients' UtilsTest.testMurmur2, as Java's
 *                    partitioner uses them: toPositive(h) % n) and against
 *                    CRC-32 check values for consistent_random
 *   producer agrees  librdkafka producers with partitioner=murmur2_random
 *                    and consistent_random, on a mock cluster: every key of
 *                    a few hundred lands where keying_partition says, for 1,
 *                    3, 8 and 13 partitions
 *   daemon           rfmd over the mock cluster, orders produced to explicit
 *                    partitions: the ones away from their customer's
 *                    partition are dead-lettered unchanged with
 *                    "wrong_partition: ..." and never applied; an order whose
 *                    key is not its customer but which sits on the customer's
 *                    partition is applied (the customer decides, not the
 *                    key); with `trust` everything is applied
 *
 * usage: test_daemon_keying RFMD
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

static const char *rfmd_path;

/* ---- the partition function ------------------------------------------------ */

static void test_known_values(void **state) {
    (void)state;
    /* Kafka's UtilsTest.testMurmur2: murmur2(bytes) as a Java int. */
    static const struct {
        const char *key;
        int32_t hash;
    } java[] = {{"21", -973932308},
                {"foobar", -790332482},
                {"a-little-bit-long-string", -985981536},
                {"a-little-bit-longer-string", -1486304829},
                {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
                {"abc", 479470107}};
    static const int32_t counts[] = {1, 2, 3, 4, 7, 8, 12, 13, 100, 1000};
    for (size_t i = 0; i < sizeof java / sizeof java[0]; i++)
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
            int32_t want = (int32_t)(((uint32_t)java[i].hash & 0x7fffffffu) % (uint32_t)counts[j]);
            int32_t got = keying_partition(CONFIG_PARTITIONER_MURMUR2, java[i].key,
                                           strlen(java[i].key), counts[j]);
            if (got != want)
                fail_msg("murmur2 '%s' of %d: %d, Java says %d", java[i].key, (int)counts[j],
                         (int)got, (int)want);
        }
    /* CRC-32 (IEEE, as zlib): the standard check value and two more. */
    static const struct {
        const char *key;
        uint32_t crc;
    } crc[] = {{"123456789", 0xCBF43926u}, {"abc", 0x352441C2u}, {"a", 0xE8B7BE43u}};
    for (size_t i = 0; i < sizeof crc / sizeof crc[0]; i++)
        for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++)
            assert_int_equal(keying_partition(CONFIG_PARTITIONER_CONSISTENT, crc[i].key,
                                              strlen(crc[i].key), counts[j]),
                             crc[i].crc % (uint32_t)counts[j]);
    /* Nothing to say: trust, no partitions, an empty key. */
    assert_int_equal(keying_partition(CONFIG_PARTITIONER_TRUST, "abc", 3, 8), -1);
    assert_int_equal(keying_partition(CONFIG_PARTITIONER_MURMUR2, "abc", 3, 0), -1);
    assert_int_equal(keying_partition(CONFIG_PARTITIONER_CONSISTENT, "", 0, 8), -1);
    assert_int_equal(keying_partition(CONFIG_PARTITIONER_MURMUR2, NULL, 0, 8), -1);
}

#define NKEYS 300

static int32_t landed[NKEYS];

static void keys_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    assert_int_equal(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
    landed[(intptr_t)m->_private] = m->partition;
}

static void key_of(int i, char *buf, size_t len) {
    /* Ids like the seeds' (retail numbers, FLO uuids) and a few odd ones. */
    static const char *const fixed[] = {
        "17850", "12346", "cc294636-19f0-11eb-8d74-000d3a38a36f", "a", "21", "c d", "é"};
    if (i < (int)(sizeof fixed / sizeof fixed[0]))
        snprintf(buf, len, "%s", fixed[i]);
    else
        snprintf(buf, len, "customer-%d", i * 7919);
}

static void test_producer_agrees(void **state) {
    (void)state;
    char err[256];
    rd_kafka_t *mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
    assert_non_null(mock_rk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mock_rk, 1);
    assert_non_null(mc);
    static const int counts[] = {1, 3, 8, 13};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        char topic[16];
        snprintf(topic, sizeof topic, "k%d", counts[t]);
        assert_int_equal(rd_kafka_mock_topic_create(mc, topic, counts[t], 1), 0);
    }
    static const struct {
        const char *name;
        config_partitioner p;
    } parts[] = {{"murmur2_random", CONFIG_PARTITIONER_MURMUR2},
                 {"consistent_random", CONFIG_PARTITIONER_CONSISTENT}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers",
                                           rd_kafka_mock_cluster_bootstraps(mc), err, sizeof err),
                         RD_KAFKA_CONF_OK);
        assert_int_equal(rd_kafka_conf_set(c, "partitioner", parts[k].name, err, sizeof err),
                         RD_KAFKA_CONF_OK);
        rd_kafka_conf_set_dr_msg_cb(c, keys_dr_cb);
        rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
        assert_non_null(prod);
        for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
            char topic[16];
            snprintf(topic, sizeof topic, "k%d", counts[t]);
            for (int i = 0; i < NKEYS; i++) {
                char key[64];
                key_of(i, key, sizeof key);
                landed[i] = -2;
                assert_int_equal(
                    rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE("x", 1),
                                      RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
            }
            assert_int_equal(rd_kafka_flush(prod, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
            for (int i = 0; i < NKEYS; i++) {
                char key[64];
                key_of(i, key, sizeof key);
                int32_t want = keying_partition(parts[k].p, key, strlen(key), counts[t]);
                if (landed[i] != want)
                    fail_msg("%s: key '%s' on %d partitions landed on %d, keying says %d",
                             parts[k].name, key, counts[t], (int)landed[i], (int)want);
            }
        }
        rd_kafka_destroy(prod);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mock_rk);
}

/* ---- rfmd on the mock cluster ----------------------------------------------- */

#define NPARTS 4
#define NCUST  24 /* c-00 .. c-23 */
#define NLOST  4  /* lost-0 .. lost-3: their only order on a wrong partition */

static void produce_at(harness *h, int32_t partition, const char *key, const char *cid,
                       const char *oid) {
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"ts\":\"2021-03-01T10:00:00Z\","
                     "\"amount\":12.50}",
                     oid, cid);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        h->prod, RD_KAFKA_V_TOPIC(HARNESS_ORDERS), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(json, (size_t)n), RD_KAFKA_V_END);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static int32_t home_of(config_partitioner placement, const char *cid) {
    return keying_partition(placement, cid, strlen(cid), NPARTS);
}

/* Orders placed by the `placement` hash: every c-NN once on its partition;
 * every third (NN % 3 == 0) once more on the next partition (wrong); NN % 3
 * == 1 once more on its partition but keyed "not-NN" (right: the customer
 * decides); lost-N only on a wrong partition. Returns the wrong ones. */
static int produce_orders(harness *h, config_partitioner placement) {
    int wrong = 0;
    char cid[32], oid[32], key[32];
    for (int i = 0; i < NCUST; i++) {
        snprintf(cid, sizeof cid, "c-%02d", i);
        int32_t home = home_of(placement, cid);
        snprintf(oid, sizeof oid, "o-%02d-a", i);
        produce_at(h, home, cid, cid, oid);
        snprintf(oid, sizeof oid, "o-%02d-b", i);
        if (i % 3 == 0) {
            produce_at(h, (home + 1) % NPARTS, cid, cid, oid);
            wrong++;
        } else if (i % 3 == 1) {
            snprintf(key, sizeof key, "not-%02d", i);
            produce_at(h, home, key, cid, oid);
        }
    }
    for (int i = 0; i < NLOST; i++) {
        snprintf(cid, sizeof cid, "lost-%d", i);
        snprintf(oid, sizeof oid, "lost-o-%d", i);
        produce_at(h, (home_of(placement, cid) + 1 + i % 3) % NPARTS, cid, cid, oid);
        wrong++;
    }
    harness_flush(h);
    return wrong;
}

/* The frequency of cid in its last segment event; 0 when it has none. */
static long long last_frequency(const hreader *segs, const char *cid) {
    long long f = 0;
    for (size_t i = 0; i < segs->n; i++)
        if (segs->msgs[i].json && !strcmp(hjson_str(segs->msgs[i].json, "customer_id"), cid))
            f = hjson_int(segs->msgs[i].json, "frequency");
    return f;
}

/* rfmd with input.partitioner `name` over orders placed by `placement`;
 * checked == false: everything must be applied. */
static void run_keying(harness *h, config_partitioner placement, const char *name, bool checked) {
    harness_init(h, rfmd_path, NPARTS, 2, 1);
    int wrong = produce_orders(h, placement);
    char extra[64];
    snprintf(extra, sizeof extra, "input:\n  partitioner: %s\n", name);
    harness_write_config(h, "60s", NULL, NULL, extra);
    harness_run_to_end(h, 30000);

    hreader *segs = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    hreader_drain(segs, 20000);
    hreader *dlq = hreader_open(h, HARNESS_DLQ, h->dlq_parts);
    hreader_drain(dlq, 20000);

    /* State: checked, only the orders on their customer's partition; with
     * trust, each partition's store counts the orders it got, so a
     * customer whose two orders arrived on two partitions is two customers
     * of one order each (one store per partition: nothing merges them). */
    char cid[32];
    for (int i = 0; i < NCUST; i++) {
        snprintf(cid, sizeof cid, "c-%02d", i);
        long long want = i % 3 == 1 ? 2 : 1;
        if (last_frequency(segs, cid) != want) {
            harness_dump_log(h);
            fail_msg("%s: %s has frequency %lld, expected %lld", name, cid,
                     last_frequency(segs, cid), want);
        }
    }
    for (int i = 0; i < NLOST; i++) {
        snprintf(cid, sizeof cid, "lost-%d", i);
        assert_int_equal(last_frequency(segs, cid), checked ? 0 : 1);
    }

    /* Dead letters: exactly the wrong ones, unchanged, saying where they belong. */
    if (!checked) {
        assert_int_equal(dlq->n, 0);
        assert_true(harness_log_contains(h, "rejected by reason: none"));
    } else {
        assert_int_equal(dlq->n, (size_t)wrong);
        for (size_t i = 0; i < dlq->n; i++) {
            const hmsg *m = &dlq->msgs[i];
            assert_non_null(m->json);
            const char *c = hjson_str(m->json, "customer_id");
            assert_string_equal(m->key, c); /* the input's key, byte for byte */
            const char *oid = hjson_str(m->json, "order_id");
            assert_true(!strncmp(oid, "lost-o-", 7) || strstr(oid, "-b"));
            int32_t home = home_of(placement, c);
            int32_t arrived = !strncmp(c, "lost-", 5) ? (home + 1 + atoi(c + 5) % 3) % NPARTS
                                                      : (home + 1) % NPARTS;
            char want[256], value[256];
            snprintf(want, sizeof want,
                     "wrong_partition: customer %s belongs to partition %d of %d, arrived on %d", c,
                     (int)home, NPARTS, (int)arrived);
            assert_non_null(m->error_header);
            assert_string_equal(m->error_header, want);
            int n = snprintf(value, sizeof value,
                             "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"ts\":"
                             "\"2021-03-01T10:00:00Z\",\"amount\":12.50}",
                             oid, c);
            assert_int_equal(m->len, (size_t)n);
            assert_memory_equal(m->value, value, (size_t)n);
        }
        char want[64];
        snprintf(want, sizeof want, "rejected by reason: wrong_partition=%d ", wrong);
        if (!harness_log_contains(h, want)) {
            harness_dump_log(h);
            fail_msg("log lacks '%s'", want);
        }
    }
    hreader_close(dlq);
    hreader_close(segs);
}

static void test_murmur2(void **state) {
    run_keying(*state, CONFIG_PARTITIONER_MURMUR2, "murmur2_random", true);
}

static void test_consistent(void **state) {
    run_keying(*state, CONFIG_PARTITIONER_CONSISTENT, "consistent_random", true);
}

static void test_trust(void **state) {
    run_keying(*state, CONFIG_PARTITIONER_MURMUR2, "trust", false);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_producer_agrees),
        cmocka_unit_test_setup_teardown(test_murmur2, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_consistent, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_trust, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
