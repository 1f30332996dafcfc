/*
 * rfmd's command line and start-up: exit codes, --check-config on good and
 * bad files (YAML errors and Kafka properties librdkafka or rfmd refuses,
 * found before any Kafka work), and `kafka.brokers: embedded`, which must
 * print its bootstrap servers and work end to end for an outside client.
 *
 * usage: test_daemon_cli RFMD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/harness.h"

static const char *rfmd_path;

/* Run rfmd with args; returns the exit status and its combined output. */
static int run(char **out, const char *a1, const char *a2, const char *a3) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char *const argv[] = {(char *)rfmd_path, (char *)a1, (char *)a2, (char *)a3, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        execv(rfmd_path, argv);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while ((r = read(fds[0], buf + n, cap - n - 1)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *out = buf;
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_version_help_usage(void **state) {
    (void)state;
    char *out;
    assert_int_equal(run(&out, "--version", NULL, NULL), 0);
    assert_non_null(strstr(out, "rfmd "));
    free(out);
    assert_int_equal(run(&out, "--help", NULL, NULL), 0);
    assert_non_null(strstr(out, "usage: rfmd"));
    assert_non_null(strstr(out, "Exit status"));
    free(out);
    assert_int_equal(run(&out, "--no-such-option", NULL, NULL), 1);
    free(out);
    assert_int_equal(run(&out, "-c", "/nonexistent/rfmd.yaml", "--check-config"), 1);
    assert_non_null(strstr(out, "/nonexistent/rfmd.yaml"));
    free(out);
}

static void test_check_config(void **state) {
    harness *h = *state;
    harness_init_external(h, rfmd_path, 1, 1, 1);
    /* --check-config never connects; any well-formed broker list will do. */
    snprintf(h->bootstraps, sizeof h->bootstraps, "127.0.0.1:9");
    char *out;

    harness_write_config(h, "60s", NULL, NULL, NULL);
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 0);
    assert_non_null(strstr(out, "OK"));
    free(out);

    /* A YAML error is reported with file:line:col. */
    write_file(h->conf_path, "kafka:\n  brokers: x\n  no_such_key: 1\n");
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 1);
    char want[400];
    snprintf(want, sizeof want, "%s:3:", h->conf_path);
    if (!strstr(out, want))
        fail_msg("expected '%s' in: %s", want, out);
    free(out);

    /* A property librdkafka does not know, named as the YAML key. */
    harness_write_config(h, "60s", "    no.such.property: \"1\"\n", NULL, NULL);
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 1);
    assert_non_null(strstr(out, "kafka.consumer.no.such.property"));
    free(out);

    /* Properties that would break rfmd's delivery guarantees. */
    harness_write_config(h, "60s", "    enable.auto.commit: \"true\"\n", NULL, NULL);
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 1);
    assert_non_null(strstr(out, "kafka.consumer.enable.auto.commit"));
    free(out);
    harness_write_config(h, "60s", NULL, "    enable.idempotence: \"false\"\n", NULL);
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 1);
    assert_non_null(strstr(out, "kafka.producer.enable.idempotence"));
    free(out);
    /* ... and a real start fails the same way, before touching Kafka. */
    assert_int_equal(run(&out, "-c", h->conf_path, NULL), 1);
    assert_non_null(strstr(out, "kafka.producer.enable.idempotence"));
    free(out);

    /* Passed-through properties are accepted when valid. */
    harness_write_config(h, "60s", "    fetch.wait.max.ms: \"50\"\n",
                         "    linger.ms: \"1\"\n    compression.type: zstd\n", NULL);
    assert_int_equal(run(&out, "-c", h->conf_path, "--check-config"), 0);
    free(out);
}

static void test_embedded(void **state) {
    harness *h = *state;
    harness_init_external(h, rfmd_path, 8, 8, 8);
    snprintf(h->bootstraps, sizeof h->bootstraps, "embedded");
    harness_write_config(h, "500ms", NULL, NULL, NULL);
    harness_spawn(h);

    /* rfmd prints where its in-process Kafka listens. */
    const char *tag = "rfmd: embedded Kafka at ";
    char bootstraps[256] = "";
    int64_t t0 = harness_now_ms();
    while (!bootstraps[0] && harness_now_ms() - t0 < 10000) {
        char *log = harness_log(h);
        const char *at = log ? strstr(log, tag) : NULL;
        if (at) {
            at += strlen(tag);
            size_t n = strcspn(at, "\r\n");
            if (at[n] == '\n' && n < sizeof bootstraps) {
                memcpy(bootstraps, at, n);
                bootstraps[n] = '\0';
            }
        }
        free(log);
        if (!bootstraps[0])
            harness_sleep_ms(50);
    }
    if (!bootstraps[0]) {
        harness_dump_log(h);
        fail_msg("rfmd did not print its embedded bootstrap servers");
    }
    assert_non_null(strstr(bootstraps, ":"));
    harness_attach(h, bootstraps);

    for (int i = 0; i < 5; i++) {
        char cid[16], json[256];
        snprintf(cid, sizeof cid, "e-%d", i);
        int n = snprintf(json, sizeof json,
                         "{\"order_id\":\"eo-%d\",\"customer_id\":\"%s\",\"ts\":%lld,"
                         "\"amount\":\"%d.10\"}",
                         i, cid, 1614333600000LL + i * 86400000LL, i + 1);
        harness_produce(h, HARNESS_ORDERS, cid, strlen(cid), json, (size_t)n);
    }
    harness_flush(h);

    hreader *r = hreader_open(h, HARNESS_SEGMENTS, h->segments_parts);
    t0 = harness_now_ms();
    while (r->n < 5 && harness_now_ms() - t0 < 20000)
        hreader_poll(r, 200);
    if (r->n < 5)
        harness_dump_log(h);
    assert_true(r->n >= 5);
    /* A rescore may land between two orders, and events are only published
     * on a change, so neither the count of events nor the last one's as_of is
     * fixed. What is: every customer got events through the embedded broker,
     * each scored as of a day its orders allow (Feb 26 + 2 .. Mar 2 + 2). */
    hreader_poll(r, 1500);
    for (int i = 0; i < 5; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "e-%d", i);
        int seen = 0;
        for (size_t j = 0; j < r->n; j++) {
            const hmsg *m = &r->msgs[j];
            if (m->key_len != strlen(cid) || memcmp(m->key, cid, strlen(cid)))
                continue;
            assert_non_null(m->json);
            const char *as_of = hjson_str(m->json, "as_of");
            assert_true(strcmp(as_of, "2021-02-28") >= 0 && strcmp(as_of, "2021-03-04") <= 0);
            assert_non_null(hjson_str(m->json, "segment"));
            seen++;
        }
        assert_true(seen >= 1);
    }
    hreader_close(r);
    /* The reader and producer must go before the cluster does. */
    rd_kafka_flush(h->prod, 1000);
    rd_kafka_destroy(h->prod);
    h->prod = NULL;

    int64_t took = 0;
    int status = harness_stop(h, 10000, &took);
    harness_dump_log(h);
    assert_int_equal(status, 0);
    assert_true(took < 10000);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_help_usage),
        cmocka_unit_test_setup_teardown(test_check_config, harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_embedded, harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
