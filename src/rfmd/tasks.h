/*
 * tasks — the input partitions this process owns, each with its own store
 * (a "task", in Kafka Streams' words).
 *
 * A customer lives in the store of the one input partition its orders are
 * keyed to, so several rfmd in one consumer group never hold the same
 * customer twice: when a partition moves, its store goes (tasks_remove)
 * and the new owner builds it again from the partition's checkpoint and
 * changelog (daemon_tasks.c). Partition numbers are task numbers across
 * all orders topics (orders topics are co-partitioned, as Kafka Streams
 * requires for joins), which is also the changelog partition a task
 * writes to.
 *
 * A task is RESTORING while its store is being rebuilt from the changelog
 * (its input partition paused; nothing may read its store but the restore)
 * and RUNNING once orders flow. An eager rebalance revokes every partition
 * before it assigns them again: a RUNNING task is then SUSPENDED, kept
 * until the assignment says whether its partition stays here. A suspended
 * partition is not this process's: another member may own it already, so
 * nothing of it may be applied, scored, published or committed (what would
 * reach its changelog could land after the new owner's records and undo
 * them). Only RUNNING tasks are scored, published, committed and shown
 * over HTTP; RUNNING and SUSPENDED ones are snapshotted (a suspended
 * store holds what its revocation committed).
 *
 * Each task gets a serial number (`uid`) unique for the life of the table,
 * so a reference kept across a rebalance (a queued rescore change) can tell
 * the task it was made for from a later one of the same partition.
 *
 * The table is indexed by partition number (numbers are small and dense:
 * Kafka's partitions are 0..count-1). Kafka-free; single-threaded.
 */
#ifndef RFM_TASKS_H
#define RFM_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfm/store.h"

#define TASKS_MAX_PARTITION 65535 /* highest partition number accepted */

typedef enum task_state {
    TASK_RESTORING = 0, /* store being rebuilt; input paused */
    TASK_RUNNING,       /* consuming and applying orders */
    TASK_SUSPENDED,     /* revoked by an eager rebalance, kept until the next
                           assignment (daemon_tasks.c); untouched meanwhile */
} task_state;

typedef struct task {
    int32_t partition;
    uint32_t uid; /* unique for the table's life (see above) */
    store *store; /* owned */
    task_state state;
    bool republish; /* the next rescore publishes every customer of this task:
                       restored from changelog records, whose segments are
                       those of each customer's last order, not necessarily
                       the last one published */
    /* Restore bookkeeping (daemon_tasks.c). Offsets are "next offset"
     * form; -1 unknown. */
    int64_t ckpt_applied;   /* input position of the checkpoint loaded, -1 none */
    int64_t ckpt_redo_from; /* its redo range start */
    int64_t input_seen;     /* highest input offset a changelog record carried + 1 */
    int64_t changelog_from; /* where the changelog read began */
    int64_t changelog_end;  /* where it ended (the changelog's end then) */
    uint64_t restored;      /* changelog records applied */
    uint64_t restore_bad;   /* changelog records refused (logged) */
    int64_t restore_started_ms;
} task;

typedef struct tasks tasks;

tasks *tasks_new(void);
/* Frees every task's store. */
void tasks_free(tasks *t);

/* The task of partition p, NULL when this process does not own it. */
task *tasks_get(tasks *t, int32_t p);
const task *tasks_get_const(const tasks *t, int32_t p);

/* A new task for partition p (0..TASKS_MAX_PARTITION) holding store s, in
 * state RESTORING with no restore bookkeeping. The table owns s from here
 * on, also on failure (freed). NULL when p already has a task, p is out of
 * range, or out of memory. */
task *tasks_add(tasks *t, int32_t p, store *s);

/* Drop partition p's task and free its store; no-op when there is none. */
void tasks_remove(tasks *t, int32_t p);

/* Tasks in partition order: call with i = 0, 1, ... until NULL. Stable as
 * long as nothing is added or removed. */
task *tasks_next(tasks *t, size_t *i);

/* Number of tasks (any state), of RUNNING ones, of SUSPENDED ones, and of
 * restored ones (RUNNING or SUSPENDED: a store with all of its state, the
 * ones a checkpoint takes). */
size_t tasks_count(const tasks *t);
size_t tasks_running(const tasks *t);
size_t tasks_suspended(const tasks *t);
size_t tasks_restored(const tasks *t);

/* Customers over the RUNNING tasks' stores. */
size_t tasks_customers(const tasks *t);

/* Bytes held by all tasks' stores. */
size_t tasks_memory(const tasks *t);

/* The RUNNING tasks' stores into out[0..max) (partition order); returns how
 * many there are (may exceed max: then only max were written). */
size_t tasks_stores(const tasks *t, const store **out, size_t max);

#endif
