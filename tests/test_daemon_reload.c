/*
 * SIGHUP reload of a running rfmd (mock cluster over TCP, HTTP over libcurl):
 *
 *  1. default rules written out in the file; ten customers get segments;
 *  2. the file renames two segments (champions -> vip, hibernating ->
 *     sleeping), changes rescore.interval and http.listen (live), and
 *     scoring.tie_break and kafka.consumer (restart only): after SIGHUP the
 *     renamed customers show the new names on /customers and get events
 *     with cause "rescore" and the old name as previous_segment, the others
 *     get none; the server moved to the new address; each restart-only key
 *     is reported by name;
 *  3. a broken file (an unknown key) is refused with file:line:column in the
 *     log, the running rules stay (no name from the broken file appears),
 *     and orders keep being scored under them.
 *
 * usage: test_daemon_reload RFMD
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/harness.h"
#include "daemon/http_client.h"

#define NCUST 10

static const char *rfmd_path;

/* The default map of SPEC §3 with two names as given. */
static void rules(char *buf, size_t len, const char *hib, const char *champ) {
    snprintf(buf, len,
             "segments:\n"
             "  - {pattern: \"[1-2][1-2]\", name: %s}\n"
             "  - {pattern: \"[1-2][3-4]\", name: at_risk}\n"
             "  - {pattern: \"[1-2]5\", name: cant_loose}\n"
             "  - {pattern: \"3[1-2]\", name: about_to_sleep}\n"
             "  - {pattern: \"33\", name: need_attention}\n"
             "  - {pattern: \"[3-4][4-5]\", name: loyal_customers}\n"
             "  - {pattern: \"41\", name: promising}\n"
             "  - {pattern: \"51\", name: new_customers}\n"
             "  - {pattern: \"[4-5][2-3]\", name: potential_loyalists}\n"
             "  - {pattern: \"5[4-5]\", name: %s}\n",
             hib, champ);
}

static void produce(harness *h, const char *cid, int k, const char *day) {
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"order_id\":\"%s-%d\",\"customer_id\":\"%s\",\"ts\":\"%sT%02d:00:00Z\","
                     "\"amount\":%d.50}",
                     cid, k, cid, day, k % 24, 10 + k);
    harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
}

static const char *segment_of(const char *addr, const char *cid, char *out, size_t len) {
    char path[64];
    snprintf(path, sizeof path, "/customers/%s", cid);
    hresp r;
    json_t *o = hhttp_json(addr, path, 200, &r);
    json_t *s = json_object_get(o, "segment");
    assert_true(json_is_string(s));
    snprintf(out, len, "%s", json_string_value(s));
    hresp_free(&r);
    return out;
}

static const char *renamed(const char *seg) {
    return !strcmp(seg, "champions") ? "vip" : !strcmp(seg, "hibernating") ? "sleeping" : seg;
}

/* Line (1-based) of the first line of the file containing s. */
static int line_of(const char *path, const char *s) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    int no = 0, found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        no++;
        if (strstr(line, s))
            found = no;
    }
    fclose(f);
    return found;
}

static int count_of(const hreader *r, const char *cid, size_t from) {
    int n = 0;
    for (size_t i = from; i < r->n; i++)
        if (r->msgs[i].key && !strcmp(r->msgs[i].key, cid))
            n++;
    return n;
}

static void test_reload(void **state) {
    harness *h = *state;
    harness_init(h, rfmd_path, 2, 1, 1);
    for (int i = 0; i < NCUST; i++) {
        char cid[16], day[16];
        snprintf(cid, sizeof cid, "c-%d", i);
        snprintf(day, sizeof day, "2021-05-%02d", 1 + i);
        for (int k = 0; k <= i; k++)
            produce(h, cid, k, day);
    }
    harness_flush(h);
    char extra[2048];
    rules(extra, sizeof extra, "hibernating", "champions");
    h->http_listen = "127.0.0.1:0";
    harness_write_config(h, "1h", NULL, NULL, extra);
    harness_spawn(h);
    char addr[128];
    harness_wait_log(h, "http: listening on ", 1, addr, sizeof addr, 30000);

    /* 1. Everyone scored under the file's (default) rules. */
    int64_t t0 = harness_now_ms();
    for (;;) {
        hresp r;
        hhttp(addr, NULL, "/segments", &r, 0);
        json_t *o = r.json;
        bool done = r.status == 200 && o &&
                    json_integer_value(json_object_get(o, "customers")) == NCUST &&
                    json_integer_value(json_object_get(o, "breakpoints_version")) >= 1 &&
                    json_integer_value(json_object_get(o, "unscored")) == 0;
        hresp_free(&r);
        if (done)
            break;
        if (harness_now_ms() - t0 > 60000) {
            harness_dump_log(h);
            fail_msg("not scored within 60 s");
        }
        harness_sleep_ms(100);
    }
    hreader *ev = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    t0 = harness_now_ms();
    while (ev->n < NCUST && harness_now_ms() - t0 < 30000)
        hreader_poll(ev, 200);
    while (hreader_poll(ev, 1000) > 0)
        ;
    size_t phase1 = ev->n;
    char before[NCUST][64];
    int renames = 0;
    for (int i = 0; i < NCUST; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "c-%d", i);
        segment_of(addr, cid, before[i], sizeof before[i]);
        if (strcmp(renamed(before[i]), before[i]))
            renames++;
    }
    /* c-9: most recent, most orders, most money; c-0 the opposite. */
    assert_string_equal(before[9], "champions");
    assert_string_equal(before[0], "hibernating");

    /* 2. Renamed segments, new interval and address; two restart-only keys. */
    rules(extra, sizeof extra, "sleeping", "vip");
    strcat(extra, "scoring:\n  tie_break: first_order\n");
    h->http_listen = "127.0.0.2:0";
    harness_write_config(h, "30m", "    fetch.wait.max.ms: \"50\"\n", NULL, extra);
    assert_int_equal(kill(h->pid, SIGHUP), 0);
    char done[256], addr2[128];
    harness_wait_log(h, "reload: done: ", 1, done, sizeof done, 30000);
    assert_true(harness_log_contains(h, "scoring.tie_break changed: needs a restart"));
    assert_true(harness_log_contains(h, "kafka.consumer changed: needs a restart"));
    assert_true(harness_log_contains(h, "rescore.interval applied: 1800000 ms"));
    assert_false(harness_log_contains(h, "segments changed: needs a restart"));
    harness_wait_log(h, "reload: http.listen applied: listening on ", 1, addr2, sizeof addr2, 1000);
    assert_non_null(strstr(addr2, "127.0.0.2:"));
    hresp r;
    hhttp(addr, NULL, "/healthz", &r, 1); /* the old address is closed */
    assert_int_equal(r.status, 0);
    hresp_free(&r);

    for (int i = 0; i < NCUST; i++) {
        char cid[16], now[64];
        snprintf(cid, sizeof cid, "c-%d", i);
        assert_string_equal(segment_of(addr2, cid, now, sizeof now), renamed(before[i]));
    }
    /* One "rescore" event per renamed customer, from its old name. */
    t0 = harness_now_ms();
    while (ev->n < phase1 + (size_t)renames && harness_now_ms() - t0 < 30000)
        hreader_poll(ev, 200);
    while (hreader_poll(ev, 1000) > 0)
        ;
    assert_int_equal(ev->n, phase1 + (size_t)renames);
    for (size_t i = phase1; i < ev->n; i++) {
        const json_t *e = ev->msgs[i].json;
        assert_non_null(e);
        int idx = atoi(ev->msgs[i].key + 2);
        assert_string_equal(hjson_str(e, "cause"), "rescore");
        assert_string_equal(hjson_str(e, "previous_segment"), before[idx]);
        assert_string_equal(hjson_str(e, "segment"), renamed(before[idx]));
        assert_int_equal(count_of(ev, ev->msgs[i].key, phase1), 1);
    }

    /* 3. A broken file: refused with its position, the running rules stay. */
    rules(extra, sizeof extra, "broken_sleeping", "broken_vip");
    strcat(extra, "scoring:\n  tie_brake: first_order\n");
    harness_write_config(h, "30m", "    fetch.wait.max.ms: \"50\"\n", NULL, extra);
    assert_int_equal(kill(h->pid, SIGHUP), 0);
    char prefix[400], refused[512];
    snprintf(prefix, sizeof prefix, "reload: %s:", h->conf_path);
    harness_wait_log(h, prefix, 1, refused, sizeof refused, 30000);
    int line = 0, col = 0;
    assert_int_equal(sscanf(refused, "%d:%d:", &line, &col), 2);
    assert_int_equal(line, line_of(h->conf_path, "tie_brake"));
    assert_non_null(strstr(refused, "scoring.tie_brake: unknown key"));
    assert_non_null(strstr(refused, "keeping the running configuration"));

    json_t *o = hhttp_json(addr2, "/segments", 200, &r);
    json_t *list = json_object_get(o, "segments");
    assert_int_equal(json_array_size(list), 10);
    for (size_t i = 0; i < json_array_size(list); i++)
        assert_null(strstr(hjson_str(json_array_get(list, i), "segment"), "broken"));
    assert_string_equal(hjson_str(json_array_get(list, 0), "segment"), "sleeping");
    assert_string_equal(hjson_str(json_array_get(list, 9), "segment"), "vip");
    hresp_free(&r);
    char seg[64];
    assert_string_equal(segment_of(addr2, "c-9", seg, sizeof seg), "vip");

    /* Orders are still scored, under the running rules: c-0 orders a lot,
     * today, and leaves "sleeping". */
    size_t phase3 = ev->n;
    for (int k = 1; k <= 12; k++)
        produce(h, "c-0", 100 + k, "2021-05-10");
    harness_flush(h);
    t0 = harness_now_ms();
    while (count_of(ev, "c-0", phase3) == 0 && harness_now_ms() - t0 < 30000)
        hreader_poll(ev, 200);
    assert_true(count_of(ev, "c-0", phase3) >= 1);
    for (size_t i = phase3; i < ev->n; i++) {
        assert_null(strstr(hjson_str(ev->msgs[i].json, "segment"), "broken"));
        if (!strcmp(ev->msgs[i].key, "c-0") &&
            count_of(ev, "c-0", i) == count_of(ev, "c-0", phase3))
            assert_string_equal(hjson_str(ev->msgs[i].json, "previous_segment"), "sleeping");
    }
    hreader_close(ev);

    /* The reload counters, through the metrics endpoint. */
    hhttp(addr2, NULL, "/metrics", &r, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "rfmd_config_reloads_total{result=\"ok\"} 1\n"));
    assert_non_null(strstr(r.body, "rfmd_config_reloads_total{result=\"error\"} 1\n"));
    hresp_free(&r);

    int64_t took;
    int status = harness_stop(h, 15000, &took);
    if (status)
        harness_dump_log(h);
    assert_int_equal(status, 0);
}

static int setup(void **state) {
    *state = calloc(1, sizeof(harness));
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    harness_cleanup(*state);
    free(*state);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s RFMD\n", argv[0]);
        return 2;
    }
    rfmd_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
