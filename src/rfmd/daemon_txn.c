/*
 * daemon_txn — exactly-once (processing.guarantee: exactly_once): the
 * daemon's transactions. See daemon_internal.h.
 *
 * One transactional producer per process (KIP-447, as Kafka Streams'
 * exactly_once_v2): the segment events, dead-letter copies and changelog
 * records of every owned partition since the last commit, and the input
 * offsets they come from, are committed together every DAEMON_TXN_MS, at a
 * rebalance (before partitions go), before a snapshot and at shutdown —
 * and, once the input is drained, as soon as the open transaction is
 * DAEMON_TXN_IDLE_MS old. Two goals pull the period apart: a commit blocks
 * the loop, so with a backlog fewer commits mean more orders/s; caught up,
 * a read_committed reader sees an event only at its commit, so the period
 * is latency. Each applies when the other does not. The
 * offsets (with input.repartition also those of the orders topics, whose
 * copies to the repartition topic are in the same transaction) go with the
 * consumer's group metadata, so a member that lost its
 * partitions in a rebalance cannot commit for them any more.
 *
 * What is committed is the state: the changelog's committed records and the
 * committed input offsets describe the same orders. So:
 *
 *   - a commit that fails with an abortable error aborts; the in-memory
 *     state then holds orders whose records were thrown away: every owned
 *     partition is rebuilt from its checkpoint and the changelog (committed
 *     records only, read_committed) and input resumes at the committed
 *     offset — the aborted work is done again, once (daemon_tasks_rewind);
 *   - a lost assignment aborts the open transaction (daemon_tasks.c);
 *   - checkpoints are written right after a commit, so a checkpoint never
 *     holds uncommitted state;
 *   - a zombie (an older process of the same transactional.id) is fenced by
 *     init_transactions, which also aborts its open transaction; another
 *     member's zombie is fenced by the group generation — so every commit
 *     of an open transaction sends offsets, moved or not (one of rescore
 *     records alone would otherwise go unchecked), and one with no running
 *     partition to send them for is aborted;
 *   - nothing is produced for a partition an eager rebalance has revoked
 *     and not yet assigned again (TASK_SUSPENDED, tasks.h).
 *
 * The transactional.id must be stable across restarts of one instance, so
 * a restart fences its own predecessor at once, and different for two
 * instances: "<group_id>-<host>-<hash of snapshot.dir>" (two instances on one
 * host already need two snapshot directories).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL /* header-only, as the engine uses it */
#include <xxhash.h>

#include "daemon_internal.h"
#include "log.h"
#include "util/clock.h"

#define DAEMON_TXN_INIT_MS   60000 /* init_transactions: may wait for a zombie's abort */
#define DAEMON_TXN_STEP_MS   30000 /* each send-offsets / commit / abort call */
#define DAEMON_TXN_ID_SUFFIX 16    /* hex digits of the snapshot.dir hash */

int daemon_txn_id(const config *cfg, char *out, size_t len) {
    char host[256] = "host";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    char dir[PATH_MAX];
    if (!realpath(cfg->snapshot.dir, dir))
        snprintf(dir, sizeof dir, "%s", cfg->snapshot.dir);
    uint64_t h = XXH3_64bits(dir, strlen(dir));
    int n =
        snprintf(out, len, "%s-%s-%0*" PRIx64, cfg->kafka.group_id, host, DAEMON_TXN_ID_SUFFIX, h);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int daemon_txn_start(daemon_ctx *d, char *err, size_t errlen) {
    if (!producer_transactional(d->prod))
        return DAEMON_EXIT_OK;
    int64_t t0 = clock_mono_ms();
    if (producer_txn_init(d->prod, DAEMON_TXN_INIT_MS, err, errlen) < 0)
        return DAEMON_EXIT_FATAL;
    consumer_set_txn(d->cons);
    log_notice("exactly-once: transactional producer ready in %" PRId64 " ms; segment-topic "
               "readers must use isolation.level=read_committed (librdkafka's default, not "
               "Java's)",
               clock_mono_ms() - t0);
    return DAEMON_EXIT_OK;
}

/* Add partition (topic, p)'s applied offset to l when it moved past what
 * was committed, or (all) whenever it is known. */
static void daemon_txn_offset(daemon_ctx *d, const char *topic, int32_t p, bool all,
                              rd_kafka_topic_partition_list_t *l) {
    int slot = tracker_slot(d->trk, topic, p);
    if (slot < 0)
        return;
    tracker_partition_info pi;
    tracker_info(d->trk, (size_t)slot, &pi);
    if (!pi.assigned || pi.applied == TRACKER_OFFSET_NONE ||
        (!all && pi.committed != TRACKER_OFFSET_NONE && pi.applied <= pi.committed))
        return;
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = pi.applied;
}

/* The offsets a commit carries (see daemon_txn_offset for `all`). */
static void daemon_txn_offsets(daemon_ctx *d, bool all, rd_kafka_topic_partition_list_t *l) {
    char *const *topics;
    size_t ntopics = config_state_topics(d->cfg, &topics);
    size_t i = 0;
    for (task *k; (k = tasks_next(d->tasks, &i));) {
        if (k->state != TASK_RUNNING)
            continue;
        for (size_t t = 0; t < ntopics; t++)
            daemon_txn_offset(d, topics[t], k->partition, all, l);
    }
    /* Stage 1 of input.repartition: every assigned orders partition (no
     * task), so its copies and its offsets commit together. */
    for (size_t s = 0, n = d->cfg->input.repartition ? tracker_count(d->trk) : 0; s < n; s++) {
        tracker_partition_info pi;
        tracker_info(d->trk, s, &pi);
        if (!config_is_state_topic(d->cfg, pi.topic))
            daemon_txn_offset(d, pi.topic, pi.partition, all, l);
    }
}

bool daemon_txn_can_fence(daemon_ctx *d) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    daemon_txn_offsets(d, true, l);
    bool some = l->cnt > 0;
    rd_kafka_topic_partition_list_destroy(l);
    return some;
}

int daemon_txn_commit(daemon_ctx *d, const char *why) {
    if (!producer_transactional(d->prod) || producer_failed(d->prod))
        return producer_failed(d->prod) ? -1 : 0;
    bool open = producer_txn_open(d->prod);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    /* An open transaction always carries offsets, moved or not: sending
     * them with the group metadata is what fences a member that lost its
     * partitions without knowing — a transaction of rescore records alone
     * (no input consumed) would otherwise commit unchecked. */
    daemon_txn_offsets(d, open, l);
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        /* Open with no partition of ours to carry: what it holds belongs
         * to partitions this process no longer runs. */
        if (open)
            daemon_txn_abort(d, "no running partition to commit for");
        return 0;
    }
    rd_kafka_consumer_group_metadata_t *md = consumer_group_metadata(d->cons);
    producer_txn_result r = producer_txn_commit(d->prod, l, md, DAEMON_TXN_STEP_MS);
    if (md)
        rd_kafka_consumer_group_metadata_destroy(md);
    if (r == PRODUCER_TXN_OK) {
        for (int k = 0; k < l->cnt; k++)
            tracker_set_committed(d->trk, l->elems[k].topic, l->elems[k].partition,
                                  l->elems[k].offset);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (r == PRODUCER_TXN_ABORTED) {
        log_warning("exactly-once: the transaction (%s) was aborted; rebuilding every owned "
                    "partition from its checkpoint and the changelog",
                    why);
        return daemon_tasks_rewind(d);
    }
    return r == PRODUCER_TXN_OK ? 0 : -1;
}

void daemon_txn_abort(daemon_ctx *d, const char *why) {
    if (!producer_transactional(d->prod) || !producer_txn_open(d->prod))
        return;
    log_warning("exactly-once: aborting the open transaction (%s)", why);
    producer_txn_abort(d->prod, DAEMON_TXN_STEP_MS);
}

void daemon_txn_pace(daemon_ctx *d) {
    int64_t begun = producer_transactional(d->prod) ? producer_txn_begun_ms(d->prod) : -1;
    if (d->full || begun < 0)
        return;
    int64_t due = begun + DAEMON_TXN_IDLE_MS;
    if (due < loop_timer_due(d->loop, d->timer.commit))
        loop_timer_rearm(d->loop, d->timer.commit, due - loop_now(d->loop));
}
