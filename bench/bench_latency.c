/*
 * rfm-bench-latency — end-to-end latency of a running rfmd: produce orders of
 * brand-new customers at a fixed rate (each one's first order gives it a
 * segment, so each must come back as a segment-change event) and time, per
 * order, the moment it was produced to the moment its event is consumed from
 * the segments topic. Both ends run in this process on one monotonic clock.
 *
 * rfmd must already have breakpoints (a scored backlog) for events to flow.
 *
 * usage: rfm-bench-latency BROKERS ORDERS_TOPIC SEGMENTS_TOPIC RATE SECONDS
 * prints sent, received, p50/p90/p99/max in ms (the first second excluded).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct run {
    const char *brokers, *segments;
    char prefix[64];
    size_t n;
    int64_t *sent, *recv;
    atomic_int stop;
    atomic_size_t received;
} run;

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers, const char *group) {
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", brokers, err, sizeof err) ||
        (group && rd_kafka_conf_set(c, "group.id", group, err, sizeof err)) ||
        (type == RD_KAFKA_PRODUCER && rd_kafka_conf_set(c, "linger.ms", "5", err, sizeof err)) ||
        (type == RD_KAFKA_CONSUMER &&
         (rd_kafka_conf_set(c, "fetch.wait.max.ms", "100", err, sizeof err) ||
          /* librdkafka's default, said out loud: an exactly_once rfmd's events
           * count once their transaction is committed, not when written */
          rd_kafka_conf_set(c, "isolation.level", "read_committed", err, sizeof err)))) {
        fprintf(stderr, "rfm-bench-latency: %s\n", err);
        exit(1);
    }
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rfm-bench-latency: %s\n", err);
        exit(1);
    }
    return rk;
}

/* Assign every partition of the segments topic at its current end, so only
 * events of this run are read and none is missed. */
static void assign_at_end(rd_kafka_t *rk, const char *topic) {
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) || md->topic_cnt != 1 ||
        md->topics[0].partition_cnt == 0) {
        fprintf(stderr, "rfm-bench-latency: no metadata for %s\n", topic);
        exit(1);
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000)) {
            fprintf(stderr, "rfm-bench-latency: watermarks of %s [%d]\n", topic, p);
            exit(1);
        }
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = hi;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
}

static void *consume(void *arg) {
    run *r = arg;
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, r->brokers, "rfm-bench-latency");
    assign_at_end(rk, r->segments);
    size_t plen = strlen(r->prefix);
    while (!atomic_load(&r->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (!m)
            continue;
        int64_t t = now_ns();
        if (!m->err && m->key_len > plen && !memcmp(m->key, r->prefix, plen)) {
            char num[32];
            size_t k = m->key_len - plen < sizeof num - 1 ? m->key_len - plen : sizeof num - 1;
            memcpy(num, (const char *)m->key + plen, k);
            num[k] = '\0';
            size_t i = strtoull(num, NULL, 10);
            if (i < r->n && !r->recv[i]) {
                r->recv[i] = t;
                atomic_fetch_add(&r->received, 1);
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s BROKERS ORDERS_TOPIC SEGMENTS_TOPIC RATE SECONDS\n", argv[0]);
        return 64;
    }
    run r = {.brokers = argv[1], .segments = argv[3]};
    const char *orders = argv[2];
    double rate = atof(argv[4]), secs = atof(argv[5]);
    if (rate <= 0 || secs <= 0)
        return 64;
    r.n = (size_t)(rate * secs);
    r.sent = calloc(r.n, sizeof *r.sent);
    r.recv = calloc(r.n, sizeof *r.recv);
    snprintf(r.prefix, sizeof r.prefix, "lat-%lld-", (long long)time(NULL));

    pthread_t th;
    pthread_create(&th, NULL, consume, &r);
    struct timespec settle = {2, 0}; /* let the consumer take its assignment */
    nanosleep(&settle, NULL);

    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, r.brokers, NULL);
    char day[16];
    time_t now = time(NULL);
    strftime(day, sizeof day, "%Y-%m-%d", gmtime(&now));
    int64_t t0 = now_ns();
    for (size_t i = 0; i < r.n; i++) {
        int64_t due = t0 + (int64_t)((double)i * 1e9 / rate);
        while (now_ns() < due) {
            rd_kafka_poll(p, 0);
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        char key[96], json[256];
        int kl = snprintf(key, sizeof key, "%s%zu", r.prefix, i);
        int jl = snprintf(json, sizeof json,
                          "{\"order_id\":\"%s\",\"customer_id\":\"%s\",\"ts\":\"%sT12:00:00Z\","
                          "\"amount\":%zu.25}",
                          key, key, day, 10 + i % 500);
        r.sent[i] = now_ns();
        if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(orders), RD_KAFKA_V_KEY(key, (size_t)kl),
                              RD_KAFKA_V_VALUE(json, (size_t)jl),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) {
            fprintf(stderr, "rfm-bench-latency: produce failed\n");
            return 1;
        }
    }
    rd_kafka_flush(p, 10000);
    int64_t deadline = now_ns() + 10 * (int64_t)1000000000;
    while (atomic_load(&r.received) < r.n && now_ns() < deadline) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    rd_kafka_destroy(p);

    size_t skip = (size_t)rate; /* the first second: connections warming up */
    int64_t *lat = calloc(r.n, sizeof *lat);
    size_t m = 0;
    for (size_t i = skip; i < r.n; i++)
        if (r.recv[i])
            lat[m++] = r.recv[i] - r.sent[i];
    qsort(lat, m, sizeof *lat, cmp_i64);
    printf("latency_sent %zu\nlatency_received %zu\n", r.n, (size_t)atomic_load(&r.received));
    if (m) {
        printf("latency_p50_ms %.2f\nlatency_p90_ms %.2f\nlatency_p99_ms %.2f\nlatency_max_ms "
               "%.2f\n",
               (double)lat[m / 2] / 1e6, (double)lat[m * 9 / 10] / 1e6,
               (double)lat[m * 99 / 100] / 1e6, (double)lat[m - 1] / 1e6);
    }
    int missing = atomic_load(&r.received) < r.n;
    free(lat);
    free(r.sent);
    free(r.recv);
    return missing ? 1 : 0;
}
