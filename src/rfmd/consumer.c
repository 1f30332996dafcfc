/*
 * consumer — see consumer.h.
 *
 * Everything runs on the daemon's main thread: rd_kafka_poll_set_consumer
 * routes librdkafka's main queue (errors, commit results, rebalances) into
 * the consumer queue, which only consumer_poll serves. So the rebalance
 * callback never races message processing, and it may use the tracker and
 * the producer directly.
 *
 * Messages are taken one at a time with rd_kafka_consumer_poll and handled
 * before the next is taken, rather than with rd_kafka_consume_batch_queue:
 * librdkafka 2.0.x's batch API can skip or repeat offsets around pause/resume
 * (fixed in 2.1.0), and rfmd pauses on producer back-pressure. It also means
 * no message of a partition is processed after that partition was revoked.
 *
 * The keying check needs each orders topic's partition count. It is read
 * from the cluster metadata (one round trip) the first time it is needed
 * after each assignment, and cached: a partition count only changes with
 * partitions added, which makes the group rebalance. Until it is known
 * (metadata failing) orders are not checked rather than all refused, and the
 * fetch is retried every CONSUMER_COUNT_RETRY_MS.
 */
#include "consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kconf.h"
#include "keying.h"
#include "log.h"
#include "util/clock.h"
#include "util/errbuf.h"

#define CONSUMER_COUNT_TIMEOUT_MS 5000  /* one metadata request */
#define CONSUMER_COUNT_RETRY_MS   10000 /* between two after a failure */

struct consumer {
    rd_kafka_t *rk;
    const config *cfg;
    tracker *trk;
    consumer_drain_fn drain;
    void *drain_ctx;
    bool failed;
    bool subscribed;
    int assigned;
    int64_t start_unknown; /* RD_KAFKA_OFFSET_INVALID: committed offset decides */
    /* Rebalance generations, to tell a partition that comes back after
     * another member had it from one we keep across an eager rebalance. */
    uint32_t gen;
    uint32_t *slot_gen; /* [slot]: generation it was last assigned in, 0 = never */
    size_t nslot_gen;
    bool regained;
    char error[1024];
    log_ratelimit err_rl;
    int wake[2]; /* consumer_wake_fd: read end, librdkafka's write end */
    /* Partition count of cfg->topics.orders[i], for the keying check. */
    struct consumer_count {
        int32_t count;   /* -1 unknown */
        bool stale;      /* an assignment came since it was read */
        int64_t next_ms; /* no fetch before (monotonic ms) */
    } counts[CONFIG_MAX_TOPICS];
};

static void consumer_fail(consumer *c, const char *what, const char *detail) {
    if (!c->failed) {
        snprintf(c->error, sizeof c->error, "%s: %s", what, detail);
        log_error("consumer: %s", c->error);
    }
    c->failed = true;
}

/* "orders[0,1,5] other[2]" for logs; lists come grouped by topic. */
static void consumer_format_parts(const rd_kafka_topic_partition_list_t *l, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->cnt && n + 16 < len; i++) {
        const rd_kafka_topic_partition_t *p = &l->elems[i];
        bool same = i > 0 && !strcmp(l->elems[i - 1].topic, p->topic);
        int w = same ? snprintf(buf + n, len - n, ",%d", (int)p->partition)
                     : snprintf(buf + n, len - n, "%s%s[%d", i ? "] " : "", p->topic,
                                (int)p->partition);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    if (l->cnt && n + 2 < len)
        snprintf(buf + n, len - n, "]");
}

static void consumer_commit_one(void *ctx, const char *topic, int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_list_t *l = ctx;
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
}

static void consumer_mark_committed(consumer *c, const rd_kafka_topic_partition_list_t *l) {
    for (int i = 0; i < l->cnt; i++)
        if (!l->elems[i].err && l->elems[i].offset >= 0)
            tracker_set_committed(c->trk, l->elems[i].topic, l->elems[i].partition,
                                  l->elems[i].offset);
}

int consumer_commit(consumer *c, bool sync) {
    if (c->failed)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    size_t n = tracker_commit_candidates(c->trk, false, consumer_commit_one, l);
    if (n == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return 0;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, sync ? 0 : 1);
    int ret = (int)n;
    if (e) {
        log_rl(&c->err_rl, LOG_LEVEL_WARNING, "consumer: commit failed: %s", rd_kafka_err2str(e));
        ret = -1;
    } else if (sync) {
        consumer_mark_committed(c, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ret;
}

/* A partition this process had earlier, that another member held since:
 * cooperative rebalances only hand over partitions that move, so any
 * re-assignment of a revoked one counts; an eager one revokes everything
 * each time, so only a partition missing from the previous assignment does. */
static bool consumer_note_assigned(consumer *c, int slot, bool cooperative) {
    if ((size_t)slot >= c->nslot_gen) {
        size_t n = (size_t)slot + 16;
        uint32_t *g = realloc(c->slot_gen, n * sizeof *g);
        if (!g)
            return false;
        memset(g + c->nslot_gen, 0, (n - c->nslot_gen) * sizeof *g);
        c->slot_gen = g;
        c->nslot_gen = n;
    }
    uint32_t prev = c->slot_gen[slot];
    tracker_partition_info pi;
    tracker_info(c->trk, (size_t)slot, &pi);
    c->slot_gen[slot] = c->gen;
    return prev && (cooperative ? !pi.assigned : prev != c->gen - 1);
}

static void consumer_assign(consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                            bool cooperative) {
    c->gen++;
    for (size_t i = 0; i < CONFIG_MAX_TOPICS; i++) {
        c->counts[i].stale = true;
        c->counts[i].next_ms = 0;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int slot = tracker_slot(c->trk, p->topic, p->partition);
        if (slot < 0) {
            consumer_fail(c, "assign", "out of memory");
            continue;
        }
        if (consumer_note_assigned(c, slot, cooperative))
            c->regained = true;
        int64_t resume = tracker_resume_offset(c->trk, slot);
        if (resume != TRACKER_OFFSET_NONE)
            p->offset = resume;
        else if (c->start_unknown != RD_KAFKA_OFFSET_INVALID)
            p->offset = c->start_unknown;
        tracker_set_assigned(c->trk, slot, true);
    }
    char desc[1024];
    consumer_format_parts(parts, desc, sizeof desc);
    if (cooperative) {
        rd_kafka_error_t *err = rd_kafka_incremental_assign(rk, parts);
        if (err) {
            log_error("consumer: incremental assign failed: %s", rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
        }
        c->assigned += parts->cnt;
    } else {
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
        if (e)
            log_error("consumer: assign failed: %s", rd_kafka_err2str(e));
        c->assigned = parts->cnt;
    }
    log_notice("consumer: assigned %d partition(s)%s: %s (now %d)", parts->cnt,
               cooperative ? " incrementally" : "", desc, c->assigned);
}

static void consumer_revoke(consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                            bool cooperative) {
    bool lost = rd_kafka_assignment_lost(rk);
    if (!lost) {
        /* The partitions go to someone else next: settle our effects so the
         * committed offsets are exact. */
        if (c->drain)
            c->drain(c->drain_ctx);
        consumer_commit(c, true);
    }
    for (int i = 0; i < parts->cnt; i++) {
        int slot = tracker_slot(c->trk, parts->elems[i].topic, parts->elems[i].partition);
        if (slot >= 0)
            tracker_set_assigned(c->trk, slot, false);
    }
    char desc[1024];
    consumer_format_parts(parts, desc, sizeof desc);
    if (cooperative) {
        rd_kafka_error_t *err = rd_kafka_incremental_unassign(rk, parts);
        if (err) {
            log_error("consumer: incremental unassign failed: %s", rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
        }
        c->assigned -= parts->cnt;
        if (c->assigned < 0)
            c->assigned = 0;
    } else {
        rd_kafka_assign(rk, NULL);
        c->assigned = 0;
    }
    log_notice("consumer: %s %d partition(s): %s (now %d)", lost ? "lost" : "revoked", parts->cnt,
               desc, c->assigned);
}

static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque) {
    consumer *c = opaque;
    bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        consumer_assign(c, rk, parts, cooperative);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        consumer_revoke(c, rk, parts, cooperative);
        break;
    default:
        log_error("consumer: rebalance failed: %s", rd_kafka_err2str(err));
        for (size_t i = 0; i < tracker_count(c->trk); i++)
            tracker_set_assigned(c->trk, (int)i, false);
        rd_kafka_assign(rk, NULL);
        c->assigned = 0;
        break;
    }
}

static void consumer_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    consumer *c = opaque;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_rl(&c->err_rl, LOG_LEVEL_WARNING, "consumer: commit failed: %s (will retry)",
               rd_kafka_err2str(err));
    if (offsets)
        consumer_mark_committed(c, offsets);
}

static void consumer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        consumer_fail(c, "fatal error", fatal);
        return;
    }
    /* All brokers down included: librdkafka reconnects by itself. */
    log_rl(&c->err_rl, LOG_LEVEL_WARNING, "consumer: %s: %s (retrying)",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

consumer *consumer_new(const config *cfg, const char *brokers, tracker *trk, char *err,
                       size_t errlen) {
    consumer *c = calloc(1, sizeof *c);
    if (!c) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->trk = trk;
    c->start_unknown = RD_KAFKA_OFFSET_INVALID;
    c->wake[0] = c->wake[1] = -1;
    for (size_t i = 0; i < CONFIG_MAX_TOPICS; i++)
        c->counts[i] = (struct consumer_count){.count = -1, .stale = true};
    log_ratelimit_init(&c->err_rl, 10000, 5);
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_CONSUMER, brokers, err, errlen);
    if (!conf) {
        free(c);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, consumer_commit_cb);
    rd_kafka_conf_set_error_cb(conf, consumer_error_cb);
    char kerr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!c->rk) {
        errbuf_set(err, errlen, "kafka.consumer: %s", kerr);
        rd_kafka_conf_destroy(conf);
        free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    return c;
}

void consumer_free(consumer *c) {
    if (!c)
        return;
    rd_kafka_destroy(c->rk);
    free(c->slot_gen);
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    free(c);
}

/* librdkafka writes one byte to the socket when an op lands in the empty
 * consumer queue (and not again until the queue was served), so a reader
 * that empties the socket *before* serving the queue never misses one. */
int consumer_wake_fd(consumer *c) {
    if (c->wake[0] >= 0)
        return c->wake[0];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c->rk);
    if (!q) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    rd_kafka_queue_io_event_enable(q, sv[1], "w", 1);
    rd_kafka_queue_destroy(q);
    c->wake[0] = sv[0];
    c->wake[1] = sv[1];
    return sv[0];
}

void consumer_wake_clear(consumer *c) {
    char buf[64];
    while (c->wake[0] >= 0 && read(c->wake[0], buf, sizeof buf) > 0)
        ;
}

void consumer_set_drain(consumer *c, consumer_drain_fn fn, void *ctx) {
    c->drain = fn;
    c->drain_ctx = ctx;
}

int consumer_subscribe(consumer *c, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new((int)c->cfg->topics.norders);
    for (size_t i = 0; i < c->cfg->topics.norders; i++)
        rd_kafka_topic_partition_list_add(l, c->cfg->topics.orders[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        errbuf_set(err, errlen, "subscribe: %s", rd_kafka_err2str(e));
        return -1;
    }
    c->subscribed = true;
    return 0;
}

/* Handles a non-data message; the caller destroys it. */
static void consumer_event(consumer *c, const rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        int slot = tracker_slot(c->trk, rd_kafka_topic_name(m->rkt), m->partition);
        if (slot >= 0)
            tracker_set_eof(c->trk, slot);
        log_debug("consumer: %s [%d] reached end at offset %lld", rd_kafka_topic_name(m->rkt),
                  (int)m->partition, (long long)m->offset);
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(c->rk, fatal, sizeof fatal);
        consumer_fail(c, "fatal error", fatal);
        return;
    }
    log_rl(&c->err_rl, LOG_LEVEL_WARNING, "consumer: %s%s%s: %s",
           m->rkt ? rd_kafka_topic_name(m->rkt) : "", m->rkt ? ": " : "", rd_kafka_err2name(m->err),
           rd_kafka_message_errstr(m));
}

rd_kafka_message_t *consumer_poll(consumer *c, int timeout_ms) {
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
        if (!m)
            return NULL;
        if (!m->err)
            return m;
        consumer_event(c, m);
        rd_kafka_message_destroy(m);
        if (c->failed)
            return NULL;
        /* An EOF or error used up this call's wait only if nothing follows. */
        timeout_ms = 0;
    }
}

static void consumer_pause_resume(consumer *c, bool pause) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) || !l)
        return;
    if (l->cnt) {
        rd_kafka_resp_err_t e =
            pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
        if (e)
            log_warning("consumer: %s failed: %s", pause ? "pause" : "resume", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void consumer_pause(consumer *c) {
    consumer_pause_resume(c, true);
}

void consumer_resume(consumer *c) {
    consumer_pause_resume(c, false);
}

void consumer_close(consumer *c) {
    if (!c->subscribed)
        return;
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
    if (e)
        log_warning("consumer: close: %s", rd_kafka_err2str(e));
    c->subscribed = false;
}

bool consumer_failed(const consumer *c) {
    return c->failed;
}

const char *consumer_error(const consumer *c) {
    return c->error;
}

bool consumer_take_regained(consumer *c) {
    bool r = c->regained;
    c->regained = false;
    return r;
}

void consumer_set_start_unknown(consumer *c, int64_t offset) {
    c->start_unknown = offset;
}

int consumer_assigned(const consumer *c) {
    return c->assigned;
}

rd_kafka_t *consumer_handle(consumer *c) {
    return c->rk;
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
    const char *topic = c->cfg->topics.orders[i];
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
    size_t i = 0;
    while (i < c->cfg->topics.norders && strcmp(c->cfg->topics.orders[i], topic))
        i++;
    if (i == c->cfg->topics.norders)
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
