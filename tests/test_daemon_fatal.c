/*
 * An event that cannot be delivered is fatal, never silently lost: the
 * brokers refuse every Produce request with a permanent error, so the first
 * segment events fail; rfmd must log the failed delivery, exit with status 2
 * (not 0), and write no snapshot of a state whose effects were not all
 * delivered.
 *
 * usage: test_daemon_fatal RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>

#include "daemon/harness.h"

#define PRODUCE_API_KEY 0 /* Kafka protocol ApiKey of Produce */

static const char *rfmd_path;

static void test_failed_delivery_is_fatal(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 2, 1);
    for (int i = 0; i < 5; i++) {
        char cid[16], json[256];
        snprintf(cid, sizeof cid, "f-%d", i);
        int n = snprintf(json, sizeof json,
                         "{\"order_id\":\"fo-%d\",\"customer_id\":\"%s\","
                         "\"ts\":\"2021-02-0%dT10:00:00Z\",\"amount\":12.5}",
                         i, cid, i + 1);
        harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
    }
    harness_flush(h);

    /* From now on every Produce request fails for good. */
    rd_kafka_resp_err_t errs[64];
    for (int i = 0; i < 64; i++)
        errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    rd_kafka_mock_push_request_errors_array(h->mc, PRODUCE_API_KEY, 64, errs);

    harness_write_config(h, "60s", NULL, "    message.timeout.ms: \"5000\"\n", NULL);
    harness_spawn(h);

    /* rfmd exits by itself; SIGTERM only if it hangs. */
    int64_t t0 = harness_now_ms();
    while (!harness_log_contains(h, "fatal:") && harness_now_ms() - t0 < 30000)
        harness_sleep_ms(100);
    harness_sleep_ms(500);
    int64_t took = 0;
    int status = harness_stop(h, 10000, &took);
    harness_dump_log(h);
    assert_int_equal(status, 2);
    assert_true(harness_log_contains(h, "delivery to segments"));

    /* No snapshot holds a state whose events were not delivered: a restart
     * re-reads the input instead (committed offsets do not decide where it
     * resumes, and may legitimately cover orders applied before the failed
     * rescore). */
    DIR *dir = opendir(h->dir);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strstr(e->d_name, ".snap"))
            fail_msg("a snapshot was written after a failed delivery: %s", e->d_name);
    closedir(dir);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_delivery_is_fatal, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
