/*
 * consumer_info — what the consumer knows of its partitions without asking
 * a broker each time: lag and positions (librdkafka's cached watermarks and
 * the tracker), and each orders topic's partition count for the keying
 * check (consumer.h).
 *
 * The keying check needs each state topic's partition count. It is read
 * from the cluster metadata (one round trip) the first time it is needed
 * after each assignment, and cached: a partition count only changes with
 * partitions added, which makes the group rebalance. Until it is known
 * (metadata failing) orders are not checked rather than all refused, and the
 * fetch is retried every CONSUMER_COUNT_RETRY_MS.
 */
#include <string.h>

#include "consumer_internal.h"
#include "keying.h"
#include "util/clock.h"

void consumer_counts_stale(consumer *c) {
    for (size_t i = 0; i < CONFIG_MAX_TOPICS; i++) {
        c->counts[i].stale = true;
        c->counts[i].next_ms = 0;
    }
}

/* The tracker's view of a partition, false when it has none. */
static bool consumer_info(const consumer *c, const char *topic, int32_t partition,
                          tracker_partition_info *out) {
    for (size_t i = 0, n = tracker_count(c->trk); i < n; i++) {
        tracker_info(c->trk, i, out);
        if (out->partition == partition && !strcmp(out->topic, topic))
            return true;
    }
    return false;
}

/* Where this process is in a partition: the consumer's position once it has
 * consumed from it, else what the tracker knows (state restored, or offsets
 * committed earlier), else "at the end" if it reached EOF; -1 unknown. */
static int64_t consumer_pos(const rd_kafka_topic_partition_t *p, const tracker_partition_info *info,
                            int64_t hi) {
    if (p->offset >= 0)
        return p->offset;
    if (!info)
        return -1;
    if (info->applied != TRACKER_OFFSET_NONE)
        return info->applied;
    if (info->committed != TRACKER_OFFSET_NONE)
        return info->committed;
    return info->eof && hi >= 0 ? hi : -1;
}

/* One walk over the assignment for consumer_lag and consumer_partitions:
 * librdkafka's position and cached watermarks, and the tracker's view.
 * Returns the number of partitions walked. */
static int consumer_walk(consumer *c, consumer_partition_fn fn, void *ctx) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) || !l)
        return 0;
    bool have_pos = l->cnt && rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &l->elems[i];
        tracker_partition_info info;
        bool known = consumer_info(c, p->topic, p->partition, &info);
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(c->rk, p->topic, p->partition, &lo, &hi) || hi < 0)
            hi = -1;
        int64_t pos = have_pos ? consumer_pos(p, known ? &info : NULL, hi) : -1;
        int64_t applied = known && info.applied != TRACKER_OFFSET_NONE ? info.applied : pos;
        consumer_partition cp = {
            .topic = p->topic,
            .partition = p->partition,
            .applied = applied,
            .position = pos,
            .committed = known && info.committed != TRACKER_OFFSET_NONE ? info.committed : -1,
            .high = hi,
            .lag = hi >= 0 && pos >= 0 ? (hi > pos ? hi - pos : 0) : -1,
            .reached_end = known && info.reached_end,
        };
        fn(ctx, &cp);
    }
    int n = l->cnt;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

typedef struct consumer_lag_walk {
    consumer_lag_fn fn;
    void *ctx;
    int64_t total;
} consumer_lag_walk;

static void consumer_lag_one(void *ctx, const consumer_partition *p) {
    consumer_lag_walk *w = ctx;
    if (p->lag < 0)
        return;
    if (w->fn)
        w->fn(w->ctx, p->topic, p->partition, p->lag);
    w->total = (w->total < 0 ? 0 : w->total) + p->lag;
}

int64_t consumer_lag(consumer *c, consumer_lag_fn fn, void *ctx) {
    consumer_lag_walk w = {.fn = fn, .ctx = ctx, .total = -1};
    consumer_walk(c, consumer_lag_one, &w);
    return w.total;
}

int consumer_partitions(consumer *c, consumer_partition_fn fn, void *ctx) {
    return consumer_walk(c, fn, ctx);
}

/* Read topic i's partition count from the cluster metadata into the cache;
 * on failure the old count (if any) stays and the next try waits. */
static void consumer_fetch_count(consumer *c, size_t i) {
    struct consumer_count *t = &c->counts[i];
    char *const *topics;
    config_state_topics(c->cfg, &topics);
    const char *topic = topics[i];
    t->next_ms = clock_mono_ms() + CONSUMER_COUNT_RETRY_MS;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(c->rk, 0, rkt, &md, CONSUMER_COUNT_TIMEOUT_MS)
                                : rd_kafka_last_error();
    if (!e && (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1))
        e = md->topic_cnt == 1 && md->topics[0].err ? md->topics[0].err
                                                    : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    if (e && t->count > 0) {
        log_rl(&c->err_rl, LOG_LEVEL_WARNING,
               "consumer: %s: partition count not read again (%s): keying checked against the "
               "last one, %d; retrying in %d s",
               topic, rd_kafka_err2str(e), (int)t->count, CONSUMER_COUNT_RETRY_MS / 1000);
    } else if (e) {
        log_rl(&c->err_rl, LOG_LEVEL_WARNING,
               "consumer: %s: partition count unknown (%s): orders not checked for keying "
               "meanwhile; retrying in %d s",
               topic, rd_kafka_err2str(e), CONSUMER_COUNT_RETRY_MS / 1000);
    } else {
        int32_t n = md->topics[0].partition_cnt;
        if (n != t->count)
            log_info("consumer: %s has %d partitions; orders checked against %s keying", topic,
                     (int)n, config_partitioner_name(c->cfg->input.partitioner));
        t->count = n;
        t->stale = false;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
}

int32_t consumer_customer_partition(consumer *c, const char *topic, int32_t arrived,
                                    const void *customer, size_t len, int32_t *count) {
    if (c->cfg->input.partitioner == CONFIG_PARTITIONER_TRUST)
        return -1;
    char *const *topics;
    size_t n = config_state_topics(c->cfg, &topics);
    size_t i = 0;
    while (i < n && strcmp(topics[i], topic))
        i++;
    if (i == n)
        return -1;
    struct consumer_count *t = &c->counts[i];
    /* A partition beyond the count: partitions were added, read it again. */
    if ((t->stale || arrived >= t->count) && clock_mono_ms() >= t->next_ms)
        consumer_fetch_count(c, i);
    if (t->count < 1 || arrived >= t->count)
        return -1;
    *count = t->count;
    return keying_partition(c->cfg->input.partitioner, customer, len, t->count);
}
