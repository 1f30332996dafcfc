/*
 * kwake — a descriptor that turns readable when a librdkafka consumer's
 * queue gets something to serve (a message, a rebalance, an error), so the
 * daemon's loop can sleep in one poll() on it beside its other descriptors
 * rather than inside a librdkafka call. The consumer and the restore reader
 * each own one.
 *
 * librdkafka writes one byte to the socket when an op lands in the empty
 * queue (and not again until the queue was served), so a reader that
 * empties the socket *before* serving the queue never misses one.
 */
#ifndef RFM_KWAKE_H
#define RFM_KWAKE_H

#include <librdkafka/rdkafka.h>

typedef struct kwake {
    int fd[2]; /* read end, librdkafka's write end; -1 = not created */
} kwake;

/* Not created yet. */
void kwake_init(kwake *w);

/* The read end, created on first call for rk's consumer queue; -1 (errno
 * set) if it cannot be. */
int kwake_fd(kwake *w, rd_kafka_t *rk);

/* Empty it: once it was readable, before serving the queue. */
void kwake_clear(const kwake *w);

/* Close both ends (after the rd_kafka_t is destroyed). */
void kwake_close(kwake *w);

#endif
