/*
 * Scale-out over the mock cluster: several rfmd in one consumer group must
 * together hold every customer exactly once, with the state one rfmd alone
 * has, after members die, join, leave and come back in the middle of the
 * input (docs/contract.md §6.8, §9.1; the real-broker twin is
 * tests/test_scaleout_kafka.sh, whose checker is tests/scaleout_check.py).
 *
 *   input     the orders of the first SCALE_CUSTOMERS FLO customers, dealt
 *             into three pieces by index (each customer's orders spread over
 *             all three), produced to the partition murmur2 gives their
 *             customer (keying_partition: what rfm-replay and Java do) on
 *             6 partitions, pieces 2 and 3 in paced chunks
 *   group     A, B, C (changelog.enabled, input.partitioner murmur2_random,
 *             own snapshot dirs, snapshots every second); piece 1; B
 *             SIGKILLed in the middle of piece 2 and D started; C SIGTERMed
 *             (exit 0) in the middle of piece 3 and B restarted on its dir
 *   reference R, one rfmd with every default in a group of its own, reads
 *             everything; its GET /customers/{id} of every customer
 *   verdict   once settled (every partition owned by exactly one of A, B, D,
 *             each owning one at least, all "running", lag 0, caught up,
 *             twice in a row): every
 *             customer answers 200 on exactly one of them, with R's
 *             frequency, monetary, first_order and last_order, and the
 *             frequencies add up to the orders produced. Then A, B, D and R
 *             exit 0 on SIGTERM.
 *
 * Only status codes and those four fields decide; a "partition" field in
 * the answers is printed with the examples when present. The mis-keying
 * check (wrong_partition) is test_daemon_keying's.
 *
 * usage: test_daemon_scaleout RFMD   (RFM_SHARED, RFM_SOURCE from ctest)
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

#include <math.h>
#include <signal.h>

#include "daemon/flo.h"
#include "daemon/harness.h"
#include "daemon/http_client.h"
#include "rfmd/keying.h"

#define SCALE_CUSTOMERS 3000
#define SCALE_PARTS     6
#define SCALE_GROUP     "scale-g"
#define SCALE_CHUNKS    10
#define SCALE_EXAMPLES  5

static const char *rfmd_path;

enum { A, B, C, D, R, NINST };
static hinstance inst[NINST];

/* One customer's state as /customers/{id} shows it. */
typedef struct cstate {
    long long frequency, cents;
    char first[40], last[40];
} cstate;

typedef struct scale_input {
    flo_orders os;
    size_t n;         /* orders of the first SCALE_CUSTOMERS customers */
    char (*ids)[160]; /* those customers */
    size_t nids;
} scale_input;

static void input_load(scale_input *in) {
    memset(in, 0, sizeof *in);
    flo_load(&in->os);
    in->ids = calloc(SCALE_CUSTOMERS, sizeof *in->ids);
    assert_non_null(in->ids);
    for (in->n = 0; in->n < in->os.n; in->n++) {
        const char *k = in->os.m[in->n].key;
        if (in->nids && !strcmp(in->ids[in->nids - 1], k))
            continue;
        if (in->nids == SCALE_CUSTOMERS)
            break;
        snprintf(in->ids[in->nids++], sizeof in->ids[0], "%s", k);
    }
    assert_int_equal(in->nids, SCALE_CUSTOMERS);
}

/* Produce chunk `chunk` of SCALE_CHUNKS of piece `piece` (0-2: the orders
 * whose index is piece mod 3), each to its customer's murmur2 partition. */
static void produce_chunk(harness *h, const scale_input *in, int piece, int chunk) {
    size_t per = (in->n + 3 * SCALE_CHUNKS - 1) / (3 * SCALE_CHUNKS);
    for (size_t j = (size_t)chunk * per; j < (size_t)(chunk + 1) * per; j++) {
        size_t i = 3 * j + (size_t)piece;
        if (i >= in->n)
            break;
        const flo_msg *m = &in->os.m[i];
        size_t klen = strlen(m->key);
        int32_t p = keying_partition(CONFIG_PARTITIONER_MURMUR2, m->key, klen, SCALE_PARTS);
        assert_true(p >= 0 && p < SCALE_PARTS);
        harness_produce_at(h, HARNESS_ORDERS, p, m->key, klen, m->json, strlen(m->json));
    }
    harness_flush(h);
}

/* Wait until in owns at least one partition (GET /partitions). */
static void wait_owns(const hinstance *in, int ms) {
    int64_t t0 = harness_now_ms();
    for (;;) {
        hresp r = {0};
        hhttp(in->addr, NULL, "/partitions", &r, 1);
        json_t *n = r.json ? json_object_get(r.json, "partitions") : NULL;
        bool owns = r.status == 200 && json_is_integer(n) && json_integer_value(n) > 0;
        hresp_free(&r);
        if (owns)
            return;
        if (harness_now_ms() - t0 > ms)
            fail_msg("%s owns no partition within %d ms", in->name, ms);
        harness_sleep_ms(100);
    }
}

static void print_logs(void) {
    for (int i = 0; i < NINST; i++) {
        if (!inst[i].starts)
            continue;
        char *cmd = NULL;
        if (asprintf(&cmd,
                     "echo '--- %s'; grep -hE 'consumer:|changelog|restor|error|fatal' '%s' | "
                     "tail -15",
                     inst[i].name, inst[i].log) < 0)
            continue;
        if (system(cmd))
            fprintf(stderr, "(no log for %s)\n", inst[i].name);
        free(cmd);
    }
}

/* Settled now? Else *why says what is not. */
static bool settled_once(const int *who, int nwho, char *why, size_t whylen) {
    int owners[SCALE_PARTS] = {0};
    for (int k = 0; k < nwho; k++) {
        const hinstance *in = &inst[who[k]];
        hresp r = {0};
        hhttp(in->addr, NULL, "/partitions", &r, 1);
        if (r.status != 200 || !r.json) {
            snprintf(why, whylen, "%.40s: /partitions status %ld", in->name, r.status);
            hresp_free(&r);
            return false;
        }
        json_t *a = json_object_get(r.json, "assignment");
        if (json_array_size(a) == 0) { /* its share is still to come */
            snprintf(why, whylen, "%.40s owns no partition", in->name);
            hresp_free(&r);
            return false;
        }
        size_t i;
        json_t *p;
        json_array_foreach(a, i, p) {
            json_int_t part = json_integer_value(json_object_get(p, "partition"));
            const char *state = json_string_value(json_object_get(p, "state"));
            json_t *lag = json_object_get(p, "lag");
            if (part < 0 || part >= SCALE_PARTS || !state || strcmp(state, "running") ||
                !json_is_integer(lag) || json_integer_value(lag) != 0 ||
                !json_is_true(json_object_get(p, "caught_up"))) {
                char *s = json_dumps(p, JSON_COMPACT);
                snprintf(why, whylen, "%.40s: %.400s", in->name, s ? s : "?");
                free(s);
                hresp_free(&r);
                return false;
            }
            owners[part]++;
        }
        hresp_free(&r);
    }
    for (int p = 0; p < SCALE_PARTS; p++)
        if (owners[p] != 1) {
            snprintf(why, whylen, "partition %d owned by %d instances", p, owners[p]);
            return false;
        }
    return true;
}

/* Wait until who[] have settled (twice in a row, 0.5 s apart). */
static void wait_settled(const int *who, int nwho, int timeout_ms) {
    int64_t t0 = harness_now_ms();
    int row = 0;
    char why[600] = "";
    while (row < 2) {
        row = settled_once(who, nwho, why, sizeof why) ? row + 1 : 0;
        if (row >= 2)
            break;
        if (harness_now_ms() - t0 > timeout_ms) {
            for (int k = 0; k < nwho; k++) {
                hresp r = {0};
                hhttp(inst[who[k]].addr, NULL, "/partitions", &r, 1);
                fprintf(stderr, "%s /partitions: %s\n", inst[who[k]].name,
                        r.body ? r.body : "(no answer)");
                hresp_free(&r);
            }
            print_logs();
            fail_msg("not settled within %d ms: %s", timeout_ms, why);
        }
        harness_sleep_ms(500);
    }
    fprintf(stderr, "settled in %lld ms over %d instance(s)\n", (long long)(harness_now_ms() - t0),
            nwho);
}

/* GET /customers/{id} on in: status, and the state when 200. */
static long get_customer(const hinstance *in, const char *id, cstate *st, long long *partition) {
    char path[256];
    snprintf(path, sizeof path, "/customers/%s", id); /* FLO ids: hex and '-' */
    hresp r = {0};
    hhttp(in->addr, NULL, path, &r, 0);
    long status = r.status;
    if (partition && r.json && json_is_integer(json_object_get(r.json, "partition")))
        *partition = json_integer_value(json_object_get(r.json, "partition"));
    if (status == 200) {
        assert_non_null(r.json);
        memset(st, 0, sizeof *st);
        st->frequency = hjson_int(r.json, "frequency");
        json_t *m = json_object_get(r.json, "monetary");
        assert_true(json_is_number(m));
        st->cents = llround(json_number_value(m) * 100.0);
        snprintf(st->first, sizeof st->first, "%s", hjson_str(r.json, "first_order"));
        snprintf(st->last, sizeof st->last, "%s", hjson_str(r.json, "last_order"));
    }
    hresp_free(&r);
    return status;
}

static bool cstate_equal(const cstate *x, const cstate *y) {
    return x->frequency == y->frequency && x->cents == y->cents && !strcmp(x->first, y->first) &&
           !strcmp(x->last, y->last);
}

static void test_scaleout(void **state) {
    harness *h = *state;
    scale_input in;
    input_load(&in);
    harness_init(h, rfmd_path, SCALE_PARTS, SCALE_PARTS, 1);
    /* The mock cluster has no CreateTopics (§9.1): the changelog is ours. */
    harness_group_topics(h, SCALE_GROUP);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, SCALE_GROUP "-changelog", SCALE_PARTS, 1),
                     0);
    h->snapshot_props = "  interval: 1s\n";
    const char *consumer = "    session.timeout.ms: \"6000\"\n"
                           "    heartbeat.interval.ms: \"500\"\n";
    const char *scaled = "changelog:\n  enabled: true\n"
                         "input:\n  partitioner: murmur2_random\n";
    const char *names[NINST] = {"a", "b", "c", "d", "r"};
    for (int i = A; i <= D; i++)
        harness_instance_init(h, &inst[i], names[i], SCALE_GROUP, "10s", consumer, scaled);
    harness_instance_init(h, &inst[R], names[R], "scale-ref", "10s", NULL, NULL);
    int64_t t0 = harness_now_ms();

    /* A, B, C; piece 1. */
    harness_instance_spawn(&inst[A], 30000);
    wait_owns(&inst[A], 30000);
    harness_instance_spawn(&inst[B], 30000);
    harness_instance_spawn(&inst[C], 30000);
    wait_owns(&inst[B], 30000);
    wait_owns(&inst[C], 30000);
    for (int c = 0; c < SCALE_CHUNKS; c++)
        produce_chunk(h, &in, 0, c);

    /* Piece 2: B dies in the middle, D joins. */
    for (int c = 0; c < SCALE_CHUNKS; c++) {
        if (c == SCALE_CHUNKS / 2) {
            assert_int_equal(harness_instance_stop(&inst[B], SIGKILL, 5000), 128 + SIGKILL);
            harness_instance_spawn(&inst[D], 30000);
        }
        produce_chunk(h, &in, 1, c);
        harness_sleep_ms(150);
    }

    /* Piece 3: C leaves cleanly in the middle, B comes back on its dir. */
    for (int c = 0; c < SCALE_CHUNKS; c++) {
        if (c == SCALE_CHUNKS / 3)
            assert_int_equal(harness_instance_stop(&inst[C], SIGTERM, 15000), 0);
        if (c == 2 * SCALE_CHUNKS / 3)
            harness_instance_spawn(&inst[B], 30000);
        produce_chunk(h, &in, 2, c);
        harness_sleep_ms(150);
    }
    fprintf(stderr, "all %zu orders produced after %lld ms\n", in.n,
            (long long)(harness_now_ms() - t0));

    /* The reference: R alone, everything read. */
    harness_instance_spawn(&inst[R], 30000);
    int ref_only[] = {R};
    wait_settled(ref_only, 1, 60000);
    cstate *ref = calloc(in.nids, sizeof *ref);
    assert_non_null(ref);
    long long ref_total = 0;
    for (size_t k = 0; k < in.nids; k++) {
        long st = get_customer(&inst[R], in.ids[k], &ref[k], NULL);
        if (st != 200)
            fail_msg("reference: %s: status %ld", in.ids[k], st);
        ref_total += ref[k].frequency;
    }
    assert_int_equal(ref_total, (long long)in.n);

    /* The group, settled; every customer once, as R has it. */
    int group[] = {A, B, D};
    wait_settled(group, 3, 90000);
    size_t held_by[4] = {0}, differ = 0, copies = 0;
    long long total = 0;
    int shown_multi = 0, shown_none = 0, shown_diff = 0;
    for (size_t k = 0; k < in.nids; k++) {
        int holders = 0;
        char where[64] = "";
        long long partition = -1;
        for (int g = 0; g < 3; g++) {
            cstate got;
            hinstance *x = &inst[group[g]];
            long st = get_customer(x, in.ids[k], &got, &partition);
            if (st != 200) {
                if (st != 404)
                    fail_msg("%s: %s: status %ld", x->name, in.ids[k], st);
                continue;
            }
            holders++;
            copies++;
            total += got.frequency;
            strcat(where, " ");
            strcat(where, x->name);
            if (!cstate_equal(&got, &ref[k])) {
                differ++;
                if (shown_diff++ < SCALE_EXAMPLES)
                    fprintf(stderr,
                            "differs: %s on %s: frequency %lld (ref %lld), cents %lld (ref "
                            "%lld), first %s (ref %s), last %s (ref %s)\n",
                            in.ids[k], x->name, got.frequency, ref[k].frequency, got.cents,
                            ref[k].cents, got.first, ref[k].first, got.last, ref[k].last);
            }
        }
        held_by[holders]++;
        if (holders > 1 && shown_multi++ < SCALE_EXAMPLES)
            fprintf(stderr, "held twice: %s (partition %lld) on%s\n", in.ids[k], partition, where);
        if (holders == 0 && shown_none++ < SCALE_EXAMPLES)
            fprintf(stderr, "held by none: %s (partition %lld)\n", in.ids[k], partition);
    }
    fprintf(stderr,
            "%zu customers, %zu orders: %zu copies held by A, B, D, frequency total %lld; held "
            "by 0/1/2/3 instances: %zu/%zu/%zu/%zu; %zu copies differ from the reference\n",
            in.nids, in.n, copies, total, held_by[0], held_by[1], held_by[2], held_by[3], differ);
    if (held_by[1] != in.nids || differ || total != ref_total) {
        print_logs();
        fail_msg("A, B, D: %zu customers held by more than one, %zu by none, %zu copies differ, "
                 "frequency total %lld (want %lld)",
                 held_by[2] + held_by[3], held_by[0], differ, total, ref_total);
    }
    free(ref);

    /* Clean stops. */
    for (int i = 0; i < NINST; i++)
        if (inst[i].pid > 0)
            assert_int_equal(harness_instance_stop(&inst[i], SIGTERM, 15000), 0);
    free(in.ids);
    flo_free(&in.os);
}

static int teardown(void **state) {
    for (int i = 0; i < NINST; i++)
        harness_instance_kill(&inst[i]);
    return harness_teardown(state);
}

int main(int argc, char **argv) {
    rfmd_path = harness_rfmd_arg(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scaleout, harness_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
