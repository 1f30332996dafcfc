/*
 * The seed reproduction through Kafka: every FLO order (reader_read_file,
 * SPEC §5) is produced into the orders topic, rfmd consumes them all, scores
 * them, is stopped with SIGTERM, and the last segment event of each customer
 * must equal tests/data/flo_golden.csv (the seed notebook's result) — for all
 * 19,945 customers, on segment and on r, f, m, recency, frequency, monetary.
 *
 * usage: test_daemon_flo RFMD   (RFM_SHARED, RFM_SOURCE from ctest)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/flo.h"
#include "daemon/harness.h"

static const char *rfmd_path;

static void test_flo_through_kafka(void **state) {
    harness *hp = *state;
    harness_init(hp, rfmd_path, 8, 8, 1);
    flo_orders os;
    flo_load(&os);
    flo_produce(hp, &os, 0, os.n);
    flo_free(&os);

    harness_write_config(hp, "60s", NULL, NULL, NULL);
    int64_t t0 = harness_now_ms();
    harness_spawn(hp);

    /* The first scoring happens once the backlog is consumed: one event per
     * customer (previous_segment null). */
    hreader *r = hreader_open(hp, HARNESS_SEGMENTS, hp->segments_parts);
    while (r->n < FLO_CUSTOMERS && harness_now_ms() - t0 < 90000)
        hreader_poll(r, 500);
    if (r->n < FLO_CUSTOMERS) {
        harness_dump_log(hp);
        fail_msg("only %zu segment events after 90 s", r->n);
    }
    fprintf(stderr, "first %zu events after %.1f s\n", r->n,
            (double)(harness_now_ms() - t0) / 1000.0);

    int64_t took = 0;
    int status = harness_stop(hp, 10000, &took);
    harness_dump_log(hp);
    assert_int_equal(status, 0);
    assert_true(took < 10000);
    assert_true(harness_log_contains(hp, "stopped cleanly"));

    hreader_drain(r, 30000);
    assert_int_equal(flo_event_mismatches(r), 0);
    hreader_close(r);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flo_through_kafka, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
