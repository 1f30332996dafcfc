/*
 * saver_stats — the snapshot writer's counters (saver.h), in a header of
 * their own so the HTTP layer can show them without the saver's API.
 */
#ifndef RFM_SAVER_STATS_H
#define RFM_SAVER_STATS_H

#include <stdint.h>

typedef struct saver_stats {
    uint64_t written;        /* snapshots completed */
    uint64_t failed;         /* attempts that failed (fork, write, fsync, rename) */
    int64_t last_ok_unix_ms; /* when the newest good snapshot was taken, 0 = none */
    int64_t last_write_ms;   /* fork to child exit, last good snapshot */
    int64_t last_pause_us;   /* ingestion stopped for it: the fork */
    int64_t max_pause_us;
    int64_t last_gap_us; /* longest interval between two input messages while the last good
                            snapshot was taken (idle time included) */
    int64_t max_gap_us;
    uint64_t last_bytes;
    int64_t restore_ms; /* 0 when nothing was restored */
    uint64_t restored_customers;
} saver_stats;

#endif
