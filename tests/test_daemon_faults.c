/*
 * Broker faults during a replay (librdkafka's mock cluster in this process,
 * driven through its fault API; rfmd talks to it over TCP as to any broker):
 *
 *  - brokers_down: the FLO orders are in; the moment rfmd gets its
 *    partitions, every broker goes down for RFM_FAULT_SECONDS (default 30)
 *    and then comes back. rfmd must stay up, recover by itself, dead-letter
 *    nothing, and end with exactly the seed's table (snapshot dump and last
 *    segment event of every customer).
 *  - output_unavailable: the segments topic has no leader for
 *    RFM_FAULT_SECONDS while rfmd publishes its first scoring; it must pause
 *    (not drop), and once the leaders are back every customer's last event
 *    is the seed's.
 *
 * usage: test_daemon_faults RFMD   (RFM_SHARED, RFM_SOURCE, RFM_BIN from ctest)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "daemon/flo.h"
#include "daemon/harness.h"

static const char *rfmd_path;

static int fault_ms(void) {
    const char *s = getenv("RFM_FAULT_SECONDS");
    return (s ? atoi(s) : 30) * 1000;
}

static void assert_alive(harness *h) {
    int status;
    if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
        h->pid = 0;
        harness_dump_log(h);
        fail_msg("rfmd exited during the fault (status 0x%x)", status);
    }
}

/* Sleep ms, checking every second that rfmd is still running. */
static void outlast(harness *h, int ms) {
    for (int t = 0; t < ms; t += 1000) {
        harness_sleep_ms(1000);
        assert_alive(h);
    }
}

static void wait_for(harness *h, const char *what, size_t count, int ms) {
    int64_t t0 = harness_now_ms();
    while (harness_log_count(h, what) < count && harness_now_ms() - t0 < ms)
        harness_sleep_ms(50);
    if (harness_log_count(h, what) < count) {
        harness_dump_log(h);
        fail_msg("no '%s' (x%zu) in rfmd's log within %d ms", what, count, ms);
    }
}

static void stop_and_check(harness *h) {
    hreader *r = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    int64_t took;
    int status = harness_stop(h, 15000, &took);
    if (status != 0) {
        harness_dump_log(h);
        fail_msg("rfmd exit status %d after SIGTERM", status);
    }
    assert_true(took < 10000);
    hreader_drain(r, 30000);
    assert_int_equal(flo_event_mismatches(r), 0);
    hreader_close(r);
    flo_assert_dump_is_golden(h);
    assert_true(harness_log_contains(h, "rejected by reason: none")); /* nothing dead-lettered */
}

static void test_brokers_down(void **state) {
    harness *h = *state;
    flo_orders os;
    flo_load(&os);
    harness_init(h, rfmd_path, 8, 8, 1);
    flo_produce(h, &os, 0, os.n);
    harness_write_config(h, "60s", NULL, NULL, NULL);
    harness_spawn(h);
    wait_for(h, "consumer: assigned", 1, 60000);

    for (int b = 1; b <= 3; b++)
        assert_int_equal(rd_kafka_mock_broker_set_down(h->mc, b), 0);
    bool done_before = harness_log_contains(h, "backlog consumed");
    fprintf(stderr, "all brokers down for %d s (backlog %s)\n", fault_ms() / 1000,
            done_before ? "already consumed" : "still being consumed");
    outlast(h, fault_ms());
    for (int b = 1; b <= 3; b++)
        assert_int_equal(rd_kafka_mock_broker_set_up(h->mc, b), 0);

    wait_for(h, "backlog consumed", 1, 120000);
    wait_for(h, "rescore (caught up)", 1, 60000);
    harness_sleep_ms(3000);
    stop_and_check(h);
    flo_free(&os);
}

static void test_output_unavailable(void **state) {
    harness *h = *state;
    flo_orders os;
    flo_load(&os);
    harness_init(h, rfmd_path, 8, 8, 1);
    flo_produce(h, &os, 0, os.n);
    harness_write_config(h, "60s", NULL, NULL, NULL);

    /* No leader for any segments partition: nothing can be published. */
    for (int p = 0; p < h->segments_parts; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(h->mc, HARNESS_SEGMENTS, p, -1), 0);
    harness_spawn(h);
    wait_for(h, "rescore (caught up)", 1, 60000);
    fprintf(stderr, "segments topic without leaders for %d s\n", fault_ms() / 1000);
    outlast(h, fault_ms());
    for (int p = 0; p < h->segments_parts; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(h->mc, HARNESS_SEGMENTS, p, 1 + p % 3),
                         0);
    harness_sleep_ms(5000);
    stop_and_check(h);
    flo_free(&os);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_brokers_down, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_output_unavailable, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
