/*
 * embedded — `kafka.brokers: embedded`: an in-process Kafka (librdkafka's
 * mock cluster) for trying rfmd out and for tests, reachable over real TCP
 * by any client (kcat, rfm-replay) at the bootstrap list it prints.
 *
 * The mock keeps everything in memory and caps each partition at about 5 MB
 * (older batches are dropped beyond that), so topics get several partitions.
 * It has no persistence: state and offsets vanish when rfmd exits.
 */
#ifndef RFM_EMBEDDED_H
#define RFM_EMBEDDED_H

#include <stddef.h>

#include "rfm/config.h"

#define EMBEDDED_BROKERS           3
#define EMBEDDED_ORDERS_PARTITIONS 8
#define EMBEDDED_OTHER_PARTITIONS  8

typedef struct embedded embedded;

/* True when cfg asks for the embedded cluster. */
int embedded_wanted(const config *cfg);

/* Start the cluster and create topics.orders (every name), topics.segments,
 * topics.dead_letter and, with changelog.enabled, changelog.topic (as many
 * partitions as the orders). NULL with err on failure. */
embedded *embedded_start(const config *cfg, char *err, size_t errlen);

/* "127.0.0.1:port,..." (owned by e). */
const char *embedded_bootstraps(const embedded *e);

void embedded_stop(embedded *e);

#endif
