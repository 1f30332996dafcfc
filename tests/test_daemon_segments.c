/*
 * One rule for who counts in a segment, whichever way it is asked: the FLO
 * orders go through Kafka into rfmd, and once every customer is scored,
 * GET /segments must give exactly what `rfmctl summary` prints for the same
 * file — the same segments with the same customer counts, and the same
 * means to the two decimals rfmctl prints — with no customer left unscored
 * and 19,945 in all. Both sides use the engine's segment_totals(); this test
 * would catch one of them growing its own rule again.
 *
 * usage: test_daemon_segments RFMD   (RFM_SHARED, RFM_SOURCE, RFM_BIN from ctest)
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
#include "daemon/http_client.h"

#define MAX_ROWS 64

typedef struct summary_row {
    char segment[64];
    long long customers;
    char recency[32], frequency[32], monetary[32]; /* as printed, %.2f */
} summary_row;

static const char *rfmd_path;

/* `rfmctl summary --format flo FLO` into rows; returns how many. */
static int rfmctl_summary(summary_row rows[MAX_ROWS]) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s/rfmctl' summary --format flo '%s/data/flo_data_20k.csv' 2>/dev/null",
             getenv("RFM_BIN"), getenv("RFM_SHARED"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "segment,customers,recency_mean,frequency_mean,monetary_mean\n");
    int n = 0;
    while (n < MAX_ROWS && fgets(line, sizeof line, p)) {
        summary_row *r = &rows[n];
        if (sscanf(line, "%63[^,],%lld,%31[^,],%31[^,],%31[^,\n]", r->segment, &r->customers,
                   r->recency, r->frequency, r->monetary) != 5)
            fail_msg("rfmctl summary: unexpected line: %s", line);
        n++;
    }
    assert_int_equal(pclose(p), 0);
    return n;
}

static json_t *segment_entry(json_t *list, const char *name) {
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        if (!strcmp(hjson_str(e, "segment"), name))
            return e;
    }
    return NULL;
}

static void assert_mean(const json_t *e, const char *key, const char *want, const char *seg) {
    char got[32];
    snprintf(got, sizeof got, "%.2f", json_number_value(json_object_get(e, key)));
    if (strcmp(got, want))
        fail_msg("%s %s: /segments %s, rfmctl summary %s", seg, key, got, want);
}

static void test_segments_equal_summary(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 4, 4, 1);
    flo_orders os;
    flo_load(&os);
    flo_produce(h, &os, 0, os.n);
    flo_free(&os);
    h->http_listen = "127.0.0.1:0";
    harness_write_config(h, "1h", NULL, NULL, NULL);
    harness_spawn(h);
    char addr[128];
    harness_wait_log(h, "http: listening on ", 1, addr, sizeof addr, 30000);

    /* Every customer scored by the first rescore (once caught up). */
    hresp r;
    json_t *o = NULL;
    int64_t t0 = harness_now_ms();
    for (;;) {
        hhttp(addr, NULL, "/segments", &r, 0);
        o = r.json;
        if (r.status == 200 && o && hjson_int(o, "customers") == FLO_CUSTOMERS &&
            hjson_int(o, "breakpoints_version") >= 1 && hjson_int(o, "unscored") == 0)
            break;
        hresp_free(&r);
        if (harness_now_ms() - t0 > 90000) {
            harness_dump_log(h);
            fail_msg("rfmd did not score %d customers within 90 s", FLO_CUSTOMERS);
        }
        harness_sleep_ms(200);
    }
    assert_string_equal(hjson_str(o, "as_of"), "2021-06-01");

    summary_row rows[MAX_ROWS];
    int n = rfmctl_summary(rows);
    assert_true(n >= 5);
    json_t *list = json_object_get(o, "segments");
    long long total = 0, nonempty = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        long long c = hjson_int(json_array_get(list, i), "customers");
        total += c;
        nonempty += c > 0;
    }
    assert_int_equal(total, FLO_CUSTOMERS);
    assert_int_equal(nonempty, n); /* rfmctl prints the non-empty ones */
    for (int i = 0; i < n; i++) {
        json_t *e = segment_entry(list, rows[i].segment);
        if (!e)
            fail_msg("segment %s of rfmctl summary missing from /segments", rows[i].segment);
        assert_int_equal(hjson_int(e, "customers"), rows[i].customers);
        assert_mean(e, "recency_mean", rows[i].recency, rows[i].segment);
        assert_mean(e, "frequency_mean", rows[i].frequency, rows[i].segment);
        assert_mean(e, "monetary_mean", rows[i].monetary, rows[i].segment);
    }
    fprintf(stderr, "/segments equals rfmctl summary: %d segments, %lld customers\n", n, total);
    hresp_free(&r);

    int64_t took = 0;
    int status = harness_stop(h, 15000, &took);
    if (status != 0)
        harness_dump_log(h);
    assert_int_equal(status, 0);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segments_equal_summary, harness_setup,
                                        harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
