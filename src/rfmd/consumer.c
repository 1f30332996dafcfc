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
 * Lag, positions and the keying check's partition counts are in
 * consumer_info.c (the state both share: consumer_internal.h).
 */
#include "consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_internal.h"
#include "kconf.h"
#include "log.h"
#include "util/errbuf.h"

#define CONSUMER_COMMITTED_TIMEOUT_MS 5000 /* reading committed offsets (rewind) */

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
    if (c->txn)
        return 0; /* the transactions commit the offsets (consumer_set_txn) */
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

/* Mark (or clear) a slot as held: kept paused until consumer_release, also
 * across a back-pressure resume. 0, or -1 out of memory. */
static int consumer_set_held(consumer *c, int slot, bool held) {
    if ((size_t)slot >= c->nheld) {
        if (!held)
            return 0;
        size_t n = (size_t)slot + 16;
        bool *h = realloc(c->held, n * sizeof *h);
        if (!h)
            return -1;
        memset(h + c->nheld, 0, (n - c->nheld) * sizeof *h);
        c->held = h;
        c->nheld = n;
    }
    c->held[slot] = held;
    return 0;
}

static bool consumer_is_held(const consumer *c, const char *topic, int32_t partition) {
    int slot = tracker_slot(c->trk, topic, partition);
    return slot >= 0 && (size_t)slot < c->nheld && c->held[slot];
}

/* Pause the held partitions of a fresh assignment before any fetch. */
static void consumer_pause_held(consumer *c, const rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (consumer_is_held(c, parts->elems[i].topic, parts->elems[i].partition))
            rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, parts->elems[i].partition);
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_pause_partitions(c->rk, l);
        if (e)
            consumer_fail(c, "pause for restore", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void consumer_assign(consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                            bool cooperative) {
    c->gen++;
    consumer_counts_stale(c);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int slot = tracker_slot(c->trk, p->topic, p->partition);
        if (slot < 0) {
            consumer_fail(c, "assign", "out of memory");
            continue;
        }
        bool regained = consumer_note_assigned(c, slot, cooperative);
        if (regained)
            c->regained = true;
        if (c->hooks.assign && c->hooks.assign(c->hooks_ctx, p->topic, p->partition, regained) &&
            consumer_set_held(c, slot, true) < 0)
            consumer_fail(c, "assign", "out of memory");
        int64_t resume = tracker_resume_offset(c->trk, slot);
        if ((size_t)slot < c->nheld && c->held[slot])
            /* Held: it is sought to where its restored state ends before it
             * is resumed. An absolute offset here, so librdkafka starts no
             * lookup of a logical one (the committed offset, the beginning)
             * that could land after that seek and move it back. */
            p->offset = 0;
        else if (resume != TRACKER_OFFSET_NONE)
            p->offset = resume;
        else if (c->start_unknown != RD_KAFKA_OFFSET_INVALID &&
                 config_is_state_topic(c->cfg, p->topic))
            p->offset = c->start_unknown; /* stateless input: the committed offset decides */
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
    consumer_pause_held(c, parts);
    if (c->hooks.assigned)
        c->hooks.assigned(c->hooks_ctx);
}

static void consumer_revoke(consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                            bool cooperative) {
    bool lost = rd_kafka_assignment_lost(rk);
    /* Closing: the stop has already drained and committed, and nothing was
     * consumed since; a second round trip from inside the close buys
     * nothing and is one more call that could wait on a group going away. */
    if (!lost && !c->closing) {
        /* The partitions go to someone else next: settle our effects so the
         * committed offsets are exact. */
        if (c->drain)
            c->drain(c->drain_ctx);
        consumer_commit(c, true);
    }
    for (int i = 0; i < parts->cnt; i++) {
        int slot = tracker_slot(c->trk, parts->elems[i].topic, parts->elems[i].partition);
        if (slot >= 0) {
            tracker_set_assigned(c->trk, slot, false);
            consumer_set_held(c, slot, false);
        }
        if (c->hooks.revoke)
            c->hooks.revoke(c->hooks_ctx, parts->elems[i].topic, parts->elems[i].partition, lost,
                            !cooperative);
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

/* Whether the configured assignors rebalance incrementally. Read once from
 * the configuration rather than asked of the handle in each callback:
 * rd_kafka_rebalance_protocol() waits on the group's thread and can block
 * for ever when the callback runs inside rd_kafka_consumer_close()
 * (librdkafka issue 4041). librdkafka refuses to mix eager and cooperative
 * assignors, and cooperative-sticky is its only cooperative one. */
static bool consumer_conf_cooperative(const rd_kafka_conf_t *conf) {
    char v[256];
    size_t n = sizeof v;
    if (rd_kafka_conf_get(conf, "partition.assignment.strategy", v, &n) != RD_KAFKA_CONF_OK)
        return false;
    return strstr(v, "cooperative-sticky") != NULL;
}

static void consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque) {
    consumer *c = opaque;
    bool cooperative = c->cooperative;
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
    kwake_init(&c->wake);
    for (size_t i = 0; i < CONFIG_MAX_TOPICS; i++)
        c->counts[i] = (struct consumer_count){.count = -1, .stale = true};
    log_ratelimit_init(&c->err_rl, 10000, 5);
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_CONSUMER, brokers, err, errlen);
    if (!conf) {
        free(c);
        return NULL;
    }
    c->cooperative = consumer_conf_cooperative(conf);
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
    free(c->held);
    kwake_close(&c->wake);
    free(c);
}

int consumer_wake_fd(consumer *c) {
    return kwake_fd(&c->wake, c->rk);
}

void consumer_wake_clear(consumer *c) {
    kwake_clear(&c->wake);
}

void consumer_set_drain(consumer *c, consumer_drain_fn fn, void *ctx) {
    c->drain = fn;
    c->drain_ctx = ctx;
}

int consumer_subscribe(consumer *c, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new((int)c->cfg->topics.norders + 1);
    for (size_t i = 0; i < c->cfg->topics.norders; i++)
        rd_kafka_topic_partition_list_add(l, c->cfg->topics.orders[i], RD_KAFKA_PARTITION_UA);
    if (c->cfg->input.repartition)
        rd_kafka_topic_partition_list_add(l, c->cfg->input.repartition_topic,
                                          RD_KAFKA_PARTITION_UA);
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
    rd_kafka_topic_partition_list_t *all = NULL;
    if (rd_kafka_assignment(c->rk, &all) || !all)
        return;
    /* Held partitions stay paused until released, whatever back-pressure
     * does meanwhile. */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(all->cnt);
    for (int i = 0; i < all->cnt; i++)
        if (pause || !consumer_is_held(c, all->elems[i].topic, all->elems[i].partition))
            rd_kafka_topic_partition_list_add(l, all->elems[i].topic, all->elems[i].partition);
    if (l->cnt) {
        rd_kafka_resp_err_t e =
            pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
        if (e)
            log_warning("consumer: %s failed: %s", pause ? "pause" : "resume", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_topic_partition_list_destroy(all);
}

int consumer_release(consumer *c, const char *topic, int32_t partition, int64_t offset) {
    int slot = tracker_slot(c->trk, topic, partition);
    if (slot < 0 || !consumer_is_held(c, topic, partition))
        return -1;
    c->held[slot] = false;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    /* No timeout: the seek is local (only librdkafka's fetcher state), and
     * librdkafka before 2.1.0 reads a timeout as microseconds (its PR
     * #4230), so 5000 meant 5 ms and a loaded box timed the seek out. */
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, -1);
    int rc = 0;
    if (err || l->elems[0].err) {
        char why[256];
        snprintf(why, sizeof why, "%s [%d] to %lld: %s", topic, (int)partition, (long long)offset,
                 err ? rd_kafka_error_string(err) : rd_kafka_err2str(l->elems[0].err));
        consumer_fail(c, "seek after restore", why);
        rc = -1;
    }
    if (err)
        rd_kafka_error_destroy(err);
    /* Back-pressure may hold the whole assignment: it resumes this one too. */
    if (rc == 0 && !c->bp_paused) {
        rd_kafka_resp_err_t e = rd_kafka_resume_partitions(c->rk, l);
        if (e) {
            consumer_fail(c, "resume after restore", rd_kafka_err2str(e));
            rc = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int64_t consumer_committed(consumer *c, const char *topic, int32_t partition, int timeout_ms) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    rd_kafka_resp_err_t e = rd_kafka_committed(c->rk, l, timeout_ms);
    int64_t off = e || l->elems[0].err ? -2 : l->elems[0].offset < 0 ? -1 : l->elems[0].offset;
    if (off == -2)
        log_warning("consumer: committed offset of %s [%d] not read: %s", topic, (int)partition,
                    rd_kafka_err2str(e ? e : l->elems[0].err));
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

void consumer_set_txn(consumer *c) {
    c->txn = true;
}

rd_kafka_consumer_group_metadata_t *consumer_group_metadata(consumer *c) {
    return rd_kafka_consumer_group_metadata(c->rk);
}

int consumer_rewind(consumer *c, const char *topic, int32_t partition) {
    int slot = tracker_slot(c->trk, topic, partition);
    if (slot < 0)
        return -1;
    tracker_partition_info pi;
    tracker_info(c->trk, (size_t)slot, &pi);
    int64_t off = pi.committed;
    if (off == TRACKER_OFFSET_NONE)
        off = consumer_committed(c, topic, partition, CONSUMER_COMMITTED_TIMEOUT_MS);
    if (off == -2) {
        consumer_fail(c, "rewind", "the committed offset cannot be read");
        return -1;
    }
    if (off < 0)
        off = RD_KAFKA_OFFSET_BEGINNING; /* nothing committed: nothing of it counts */
    tracker_forget(c->trk, slot);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = off;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, -1); /* as consumer_release */
    int rc = 0;
    if (err || l->elems[0].err) {
        char why[256];
        snprintf(why, sizeof why, "%s [%d] to %lld: %s", topic, (int)partition, (long long)off,
                 err ? rd_kafka_error_string(err) : rd_kafka_err2str(l->elems[0].err));
        consumer_fail(c, "rewind", why);
        rc = -1;
    }
    if (err)
        rd_kafka_error_destroy(err);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int consumer_hold(consumer *c, const char *topic, int32_t partition) {
    int slot = tracker_slot(c->trk, topic, partition);
    if (slot < 0 || consumer_set_held(c, slot, true) < 0)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    rd_kafka_resp_err_t e = rd_kafka_pause_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        consumer_fail(c, "pause for restore", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

void consumer_set_hooks(consumer *c, const consumer_hooks *hooks, void *ctx) {
    c->hooks = *hooks;
    c->hooks_ctx = ctx;
}

void consumer_pause(consumer *c) {
    c->bp_paused = true;
    consumer_pause_resume(c, true);
}

void consumer_resume(consumer *c) {
    c->bp_paused = false;
    consumer_pause_resume(c, false);
}

void consumer_close(consumer *c) {
    if (!c->subscribed)
        return;
    c->closing = true;
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
