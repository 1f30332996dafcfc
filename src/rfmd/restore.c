/*
 * restore — see restore.h.
 *
 * One consumer, one queue: rd_kafka_poll_set_consumer routes librdkafka's
 * main queue (errors) into the consumer queue, which only restore_poll
 * serves, on the daemon's main thread. Messages are taken one at a time
 * with rd_kafka_consumer_poll(rk, 0), for the reason consumer.c gives (the
 * 2.0.x batch API can skip or repeat offsets), and so that a slice stops
 * exactly at `max`.
 *
 * Each partition being restored has an entry: where reading began, the
 * next offset expected (position), the end fixed at restore_begin, and
 * whether everything below the end was handed over ("finished": the done
 * callback is due). A message is handed over only if its partition has an
 * unfinished entry and its offset lies in [position, end); anything else is
 * dropped: a message of a cancelled partition prefetched before the
 * unassign, a repeat, or a record the daemon wrote after the restore began.
 *
 * A partition is finished by the record at end - 1, or — the changelog is
 * compacted, so offsets have gaps, and the last offsets below the end may
 * be gone — by the first record at or past the end, or by the partition
 * EOF at an offset >= end. Finished partitions are unassigned at once (no
 * fetching past the end) and reported after the slice, removed from the
 * table before their done callback so it may begin them again.
 */
#include "restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kconf.h"
#include "kwake.h"
#include "log.h"
#include "rfm/changelog.h"
#include "util/clock.h"
#include "util/errbuf.h"

typedef struct restore_part {
    int32_t partition;
    bool assigned; /* in the consumer's assignment */
    bool finished; /* every record below end handed over: done is due */
    restore_progress pg;
} restore_part;

/* A finished partition, between its removal and its done callback. */
typedef struct restore_fin {
    int32_t partition;
    int64_t end;
} restore_fin;

struct restore {
    rd_kafka_t *rk;
    char *topic;
    restore_part *parts; /* [nparts], in restore_begin order */
    restore_fin *fin;    /* [cap]: restore_poll's done list */
    size_t nparts, cap;
    bool failed;
    char error[1024];
    log_ratelimit err_rl;
    kwake wake; /* restore_wake_fd */
};

static void restore_fail(restore *r, const char *what, const char *detail) {
    if (!r->failed) {
        snprintf(r->error, sizeof r->error, "%s: %s", what, detail);
        log_error("restore: %s", r->error);
    }
    r->failed = true;
}

static void restore_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    restore *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        restore_fail(r, "fatal error", fatal);
        return;
    }
    log_rl(&r->err_rl, LOG_LEVEL_WARNING, "restore: %s: %s (retrying)",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

restore *restore_new(const config *cfg, const char *brokers, char *err, size_t errlen) {
    restore *r = calloc(1, sizeof *r);
    if (r)
        r->topic = strdup(cfg->changelog.topic);
    if (!r || !r->topic) {
        free(r);
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    kwake_init(&r->wake);
    log_ratelimit_init(&r->err_rl, 10000, 5);
    /* kconf_build's group.id stays: librdkafka refuses assign() without one,
     * and nothing here joins, fetches or commits for that group. */
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_CONSUMER, brokers, err, errlen);
    if (!conf)
        goto fail;
    /* Set after the user's properties: the restore depends on them. EOF ends
     * a restore whose last offsets were compacted away; read_committed makes
     * the queried end the last stable offset; a start removed between the
     * query and the fetch starts at the beginning, not at the end. A short
     * fetch wait: a fetch of partitions already at their end otherwise holds
     * the connection for librdkafka's 500 ms, and the next restore_begin's
     * watermark query waits behind it (BENCHMARKS.md, restore: 2.1 -> 0.4 s
     * for a 50k-record tail over 4 partitions). */
    if (kconf_set(conf, "restore", "fetch.wait.max.ms", "10", err, errlen) < 0 ||
        kconf_set(conf, "restore", "enable.partition.eof", "true", err, errlen) < 0 ||
        kconf_set(conf, "restore", "isolation.level", "read_committed", err, errlen) < 0 ||
        kconf_set(conf, "restore", "auto.offset.reset", "earliest", err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_error_cb(conf, restore_error_cb);
    char kerr[512];
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof kerr);
    if (!r->rk) {
        errbuf_set(err, errlen, "restore consumer: %s", kerr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_poll_set_consumer(r->rk);
    return r;
fail:
    free(r->topic);
    free(r);
    return NULL;
}

void restore_free(restore *r) {
    if (!r)
        return;
    if (r->rk)
        rd_kafka_destroy(r->rk);
    kwake_close(&r->wake);
    free(r->parts);
    free(r->fin);
    free(r->topic);
    free(r);
}

static int restore_find(const restore *r, int32_t partition) {
    for (size_t i = 0; i < r->nparts; i++)
        if (r->parts[i].partition == partition)
            return (int)i;
    return -1;
}

static void restore_unassign(restore *r, rd_kafka_topic_partition_list_t *l) {
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(r->rk, l);
    if (e) {
        log_error("restore: %s: unassign failed: %s", r->topic, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* Drop entry i; its partition is added to `unassign` when assigned. */
static void restore_remove(restore *r, size_t i, rd_kafka_topic_partition_list_t *unassign) {
    if (r->parts[i].assigned)
        rd_kafka_topic_partition_list_add(unassign, r->topic, r->parts[i].partition);
    memmove(&r->parts[i], &r->parts[i + 1], (r->nparts - i - 1) * sizeof r->parts[0]);
    r->nparts--;
}

static int restore_grow(restore *r) {
    if (r->nparts < r->cap)
        return 0;
    size_t n = r->cap ? r->cap * 2 : 8;
    restore_part *p = realloc(r->parts, n * sizeof *p);
    if (!p)
        return -1;
    r->parts = p;
    restore_fin *f = realloc(r->fin, n * sizeof *f);
    if (!f)
        return -1;
    r->fin = f;
    r->cap = n;
    return 0;
}

int restore_begin(restore *r, int32_t partition, int64_t from, char *err, size_t errlen) {
    if (r->failed) {
        errbuf_set(err, errlen, "restore consumer failed: %s", r->error);
        return -1;
    }
    if (partition < 0 || (from < 0 && from != RESTORE_FROM_BEGINNING)) {
        errbuf_set(err, errlen, "%s [%d]: no offset %" PRId64 " to restore from", r->topic,
                   (int)partition, from);
        return -1;
    }
    if (restore_find(r, partition) >= 0) {
        errbuf_set(err, errlen, "%s [%d]: already being restored", r->topic, (int)partition);
        return -1;
    }
    if (restore_grow(r) < 0) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t e;
    /* A changelog topic rfmd has just created may have no leader yet for a
     * moment: retry those answers for up to RESTORE_LEADER_WAIT_MS. */
    for (int64_t t0 = clock_mono_ms();;) {
        e = rd_kafka_query_watermark_offsets(r->rk, r->topic, partition, &lo, &hi,
                                             RESTORE_QUERY_TIMEOUT_MS);
        if ((e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
             e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
             e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) ||
            clock_mono_ms() - t0 >= RESTORE_LEADER_WAIT_MS)
            break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (!e && (lo < 0 || hi < lo))
        e = RD_KAFKA_RESP_ERR__BAD_MSG;
    if (e) {
        errbuf_set(err, errlen, "%s [%d]: offsets not read: %s", r->topic, (int)partition,
                   rd_kafka_err2str(e));
        return -1;
    }
    restore_part np = {.partition = partition};
    int64_t start = from;
    if (from == RESTORE_FROM_BEGINNING) {
        start = lo;
    } else if (from < lo || from > hi) {
        log_warning("restore: %s [%d]: offset %" PRId64 " is %s (the partition holds %" PRId64
                    "..%" PRId64 "): restoring from the beginning instead",
                    r->topic, (int)partition, from,
                    from < lo ? "no longer there (compacted or expired)"
                              : "past its end (topic recreated?)",
                    lo, hi);
        start = lo;
        np.pg.reset = true;
    }
    np.pg.from = np.pg.position = start;
    np.pg.end = hi;
    if (start >= hi) {
        np.finished = true;
    } else {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->topic, partition)->offset = start;
        rd_kafka_error_t *ae = rd_kafka_incremental_assign(r->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (ae) {
            errbuf_set(err, errlen, "%s [%d]: assign failed: %s", r->topic, (int)partition,
                       rd_kafka_error_string(ae));
            rd_kafka_error_destroy(ae);
            return -1;
        }
        np.assigned = true;
    }
    r->parts[r->nparts++] = np;
    log_info("restore: %s [%d]: restoring offsets %" PRId64 "..%" PRId64 "%s", r->topic,
             (int)partition, start, hi, np.finished ? " (nothing to read)" : "");
    return 0;
}

/* Everything below end is handed over. */
static void restore_finish(restore_part *p) {
    p->finished = true;
    if (p->pg.position < p->pg.end)
        p->pg.position = p->pg.end;
}

/* The CHANGELOG_INPUT_OFFSET_HEADER value: digits only, an int64; else -1. */
static int64_t restore_input_offset(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t n = 0;
    if (rd_kafka_message_headers(m, &h) || !h ||
        rd_kafka_header_get_last(h, CHANGELOG_INPUT_OFFSET_HEADER, &v, &n) || !v || n == 0)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        int d = ((const unsigned char *)v)[i] - '0';
        if (d < 0 || d > 9 || x > (INT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    return x;
}

/* A data message: hand it over if it is in range. Returns fn's result, 0
 * for a dropped message. */
static int restore_record(restore *r, const rd_kafka_message_t *m, restore_record_fn fn,
                          void *ctx) {
    int i = restore_find(r, m->partition);
    if (i < 0 || strcmp(rd_kafka_topic_name(m->rkt), r->topic))
        return 0; /* cancelled (prefetched before the unassign) */
    restore_part *p = &r->parts[i];
    if (p->finished || m->offset < p->pg.position)
        return 0;
    if (m->offset >= p->pg.end) {
        /* Written after the restore began: the ones below the end, if the
         * topic still has them, came before it. */
        restore_finish(p);
        return 0;
    }
    int32_t partition = m->partition;
    p->pg.position = m->offset + 1;
    p->pg.records++;
    if (p->pg.position >= p->pg.end)
        restore_finish(p);
    /* p is not used after fn: it may cancel or begin partitions. */
    return fn(ctx, partition, m->offset, m->key, m->key_len, m->len ? m->payload : NULL, m->len,
              restore_input_offset(m));
}

/* A non-data message (the caller destroys it). */
static void restore_event(restore *r, const rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        int i = restore_find(r, m->partition);
        if (i >= 0 && !r->parts[i].finished && m->offset >= r->parts[i].pg.end)
            restore_finish(&r->parts[i]);
        log_debug("restore: %s [%d] reached end at offset %" PRId64, r->topic, (int)m->partition,
                  m->offset);
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(r->rk, fatal, sizeof fatal);
        restore_fail(r, "fatal error", fatal);
        return;
    }
    if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        restore_fail(r, r->topic, rd_kafka_message_errstr(m));
        return;
    }
    log_rl(&r->err_rl, LOG_LEVEL_WARNING, "restore: %s [%d]: %s: %s", r->topic, (int)m->partition,
           rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
}

int restore_poll(restore *r, size_t max, restore_record_fn fn, restore_done_fn done, void *ctx) {
    if (r->failed)
        return -1;
    for (size_t taken = 0; taken < max;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 0);
        if (!m)
            break;
        int rc = 0;
        if (m->err) {
            restore_event(r, m);
        } else {
            taken++;
            rc = restore_record(r, m, fn, ctx);
        }
        if (rc < 0)
            snprintf(r->error, sizeof r->error,
                     "stopped by the record callback at %s [%d] offset %" PRId64, r->topic,
                     (int)m->partition, m->offset);
        rd_kafka_message_destroy(m);
        if (rc < 0 || r->failed)
            return -1;
    }
    /* Take every finished partition out first, then report them: a done
     * callback may begin (or cancel) partitions. */
    size_t nfin = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < r->nparts;) {
        restore_part *p = &r->parts[i];
        if (!p->finished) {
            i++;
            continue;
        }
        log_info("restore: %s [%d]: done, %" PRIu64 " record(s) of offsets %" PRId64 "..%" PRId64
                 "%s",
                 r->topic, (int)p->partition, p->pg.records, p->pg.from, p->pg.end,
                 p->pg.reset ? " (from the beginning: reset)" : "");
        r->fin[nfin++] = (restore_fin){.partition = p->partition, .end = p->pg.end};
        restore_remove(r, i, l);
    }
    if (l->cnt)
        restore_unassign(r, l);
    rd_kafka_topic_partition_list_destroy(l);
    for (size_t i = 0; done && i < nfin; i++)
        done(ctx, r->fin[i].partition, r->fin[i].end);
    return (int)r->nparts;
}

void restore_cancel(restore *r, int32_t partition) {
    int i = restore_find(r, partition);
    if (i < 0)
        return;
    const restore_part *p = &r->parts[i];
    log_info("restore: %s [%d]: cancelled at offset %" PRId64 " of %" PRId64 " (%" PRIu64
             " record(s) handed over)",
             r->topic, (int)partition, p->pg.position, p->pg.end, p->pg.records);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    restore_remove(r, (size_t)i, l);
    if (l->cnt)
        restore_unassign(r, l);
    rd_kafka_topic_partition_list_destroy(l);
}

bool restore_get_progress(const restore *r, int32_t partition, restore_progress *out) {
    int i = restore_find(r, partition);
    if (i < 0)
        return false;
    *out = r->parts[i].pg;
    return true;
}

int restore_active(const restore *r) {
    return (int)r->nparts;
}

const char *restore_error(const restore *r) {
    return r->error;
}

int restore_wake_fd(restore *r) {
    return kwake_fd(&r->wake, r->rk);
}

void restore_wake_clear(restore *r) {
    kwake_clear(&r->wake);
}
