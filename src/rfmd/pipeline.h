/*
 * pipeline — what rfmd does with one input message and with a rescore:
 *
 *   message -> event_decode -> home partition? -> order_apply -> score_apply
 *                                                (the store of the
 *                                                 message's partition)
 *                  |                |                    -> segment event (only
 *                  +----------------+-> dead-letter copy    when breakpoints exist
 *                                                           and the segment changed)
 *
 *   rescore -> score_breakpoints_compute_set over every running task's
 *              store -> score_rescore_all of each store -> one event per
 *              customer whose segment changed (cause "rescore"), published
 *              afterwards in slices between input batches (pipeline_publish),
 *              so a rescore that moves millions of customers does not stop
 *              ingestion while the producer works through them
 *
 * Every produced message takes a tracker ref for the input message that
 * caused it (rescore events take a global one), so input offsets are only
 * committed once their effects are delivered. With a changelog, each
 * applied order also writes its customer's record (changelog_log.h) under
 * the same message's ref; a rescore's change of segment writes its
 * customer's record after its event, under a rescore ref. Kafka-free apart from the
 * producer it is handed: which partition a customer belongs to is asked of
 * a function the daemon sets (pipeline_set_home), backed by the consumer.
 */
#ifndef RFM_PIPELINE_H
#define RFM_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "changelog_log.h"
#include "log.h"
#include "pipeline_stats.h"
#include "producer.h"
#include "rfm/config.h"
#include "rfm/event.h"
#include "rfm/score.h"
#include "rfm/store.h"
#include "tasks.h"
#include "tracker.h"

#define PIPELINE_ERROR_HEADER "rfmd-error"
/* The detail of a PIPELINE_REJECT_INVALID dead letter. */
#define PIPELINE_INVALID_DETAIL "outside the engine's limits (id length or time range)"

/* The keying check: the partition of `topic` that orders of `customer` (len
 * bytes) must arrive on, with the topic's partition count in *count, given
 * that this one arrived on `arrived`; -1 when it is not checked. */
typedef int32_t (*pipeline_home_fn)(void *ctx, const char *topic, int32_t arrived,
                                    const void *customer, size_t len, int32_t *count);

typedef struct pipeline {
    const config *cfg;
    tasks *tasks; /* the owned partitions' stores (tasks.h): an order goes to
                     the store of the partition it arrived on */
    producer *prod;
    tracker *trk;
    score_breakpoints bp; /* version 0 until the first rescore */
    pipeline_stats stats;
    event_decoded dec;
    log_ratelimit reject_rl;
    int failed;            /* producer or memory failure: the daemon must stop */
    bool republish;        /* next rescore publishes every customer, changed or not */
    pipeline_home_fn home; /* NULL: no keying check */
    void *home_ctx;
    changelog_log *changelog; /* NULL: changelog.enabled is false */
    const uint8_t *saved;     /* during such a rescore: segments before it, by index */
    /* A rescore's changes not yet published: the task (its uid: a change
     * of a task revoked since is dropped), customer index and the segment
     * it had before, oldest first from `next`. */
    struct pipeline_change {
        uint32_t task_uid;
        int32_t partition;
        uint32_t idx;
        uint8_t old;
    } * changes;
    const task *rescoring; /* the task score_rescore_all walks now */
    size_t nchanges, next, cap;
} pipeline;

/* One input message (payload may be NULL: a Kafka null value). */
typedef struct pipeline_input {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *payload;
    size_t len;
} pipeline_input;

/* ts must outlive p. */
void pipeline_init(pipeline *p, const config *cfg, tasks *ts, producer *prod, tracker *trk);
void pipeline_free(pipeline *p);

/* Check every decoded order against its customer's partition with fn (NULL:
 * no check): one on another partition is dead-lettered with the reason
 * PIPELINE_REJECT_WRONG_PARTITION and not applied. */
void pipeline_set_home(pipeline *p, pipeline_home_fn fn, void *ctx);

/* Write a changelog record (changelog_log.h) for the customer of every
 * applied order and refund, and of every redone one, with the input
 * message's tracker ref; NULL: none (the default). l must outlive p. */
void pipeline_set_changelog(pipeline *p, changelog_log *l);

/* The message's partition must have a RUNNING task (the daemon holds back
 * input of partitions it does not own or still restores). Returns 0, or -1
 * on a fatal failure (producer failed, out of memory). */
int pipeline_process(pipeline *p, const pipeline_input *in);

/* Dead-letter input message `in` (tracker slot `slot`, between its
 * tracker_begin and tracker_end) with the header "reason: detail", under a
 * ref of its own; counted in stats.rejected and logged (rate-limited). Used
 * by repartition.c's stage 1 too. 0, or -1 on a fatal failure. */
int pipeline_dead_letter(pipeline *p, const pipeline_input *in, int slot, const char *reason,
                         const char *detail);

/* Recompute breakpoints over the customers of every RUNNING task, as one
 * set (score_breakpoints_compute_set), rescore everyone and queue the
 * changes for publishing (every customer when p->republish is set; it is
 * cleared). Changes still queued from an earlier rescore are published
 * first. `why` is for the log line. No-op without customers. 0 or -1. */
int pipeline_rescore(pipeline *p, const char *why);

/* pipeline_rescore with breakpoints agreed elsewhere (the group's round,
 * round.h): bp becomes the pipeline's and everyone is rescored against it,
 * as pipeline_rescore does after computing its own. 0, or -1 (fatal). */
int pipeline_apply_breakpoints(pipeline *p, const score_breakpoints *bp, const char *why);

/* Publish up to `max` queued rescore changes (SIZE_MAX: all), each with the
 * customer's state at that moment; changes of a task no longer owned are
 * dropped; publishing stops at a change of a SUSPENDED task (tasks.h) until
 * the next assignment says whose it is. Returns how many are still queued,
 * or -1 on a fatal failure. */
long pipeline_publish(pipeline *p, size_t max);

/* Rescore changes queued and not yet handed to the producer. */
size_t pipeline_unpublished(const pipeline *p);

/* The segment rules were replaced in place (SIGHUP reload): p->cfg->segments
 * is the new map, `old` the one the customers' segment indices refer to.
 * Every scored customer gets the new rules' segment for its current r and f
 * (breakpoints unchanged); each one whose segment *name* changed gets an
 * event with cause "rescore" — except the customers of SUSPENDED tasks,
 * whose segments change silently and are published again by the next
 * rescore if the task stays. Returns how many changed, or -1 on a fatal
 * failure. */
long pipeline_resegment(pipeline *p, const segment_map *old);

#endif
