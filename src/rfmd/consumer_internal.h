/*
 * consumer_internal — the consumer's state, shared by consumer.c (the
 * group consumer: rebalances, polling, commits, holds) and consumer_info.c
 * (what it knows of its partitions: lag, positions, partition counts) and
 * no one else.
 */
#ifndef RFM_CONSUMER_INTERNAL_H
#define RFM_CONSUMER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "consumer.h"
#include "kwake.h"
#include "log.h"

#define CONSUMER_COUNT_TIMEOUT_MS 5000  /* one metadata request */
#define CONSUMER_COUNT_RETRY_MS   10000 /* between two after a failure */

struct consumer {
    rd_kafka_t *rk;
    const config *cfg;
    tracker *trk;
    consumer_drain_fn drain;
    void *drain_ctx;
    consumer_hooks hooks; /* the daemon's tasks (consumer_set_hooks) */
    void *hooks_ctx;
    bool *held; /* [slot]: paused until consumer_release (restoring) */
    size_t nheld;
    bool bp_paused; /* consumer_pause (back-pressure) in force */
    bool txn;       /* exactly-once: offsets go in the producer's transactions */
    bool failed;
    bool subscribed;
    bool cooperative; /* the assignors rebalance incrementally (config) */
    bool closing;     /* inside consumer_close */
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
    kwake wake; /* consumer_wake_fd */
    /* Partition count of state topic i (config_state_topics), for the keying
     * check. */
    struct consumer_count {
        int32_t count;   /* -1 unknown */
        bool stale;      /* an assignment came since it was read */
        int64_t next_ms; /* no fetch before (monotonic ms) */
    } counts[CONFIG_MAX_TOPICS];
};

/* Partitions counts of every orders topic are to be read again (after a
 * rebalance). */
void consumer_counts_stale(consumer *c);

#endif
