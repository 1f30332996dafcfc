/*
 * kconf — librdkafka configuration objects built from rfmd.yaml.
 *
 * rfmd sets what its correctness depends on (manual commits, idempotence,
 * ...), then applies `kafka.consumer.*` / `kafka.producer.*` verbatim, like
 * kcat -X, so operators can tune anything librdkafka knows. A property
 * librdkafka refuses is an error naming the YAML key. Properties that would
 * break rfmd's guarantees are refused up front (see kconf.c).
 */
#ifndef RFM_KCONF_H
#define RFM_KCONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "rfm/config.h"

typedef enum kconf_role { KCONF_CONSUMER, KCONF_PRODUCER } kconf_role;

/* New conf for the role with rfmd's settings, the brokers, and the user's
 * properties applied. `brokers` overrides cfg->kafka.brokers when not NULL
 * (embedded mode). NULL with a message in err on a refused property. */
rd_kafka_conf_t *kconf_build(const config *cfg, kconf_role role, const char *brokers, char *err,
                             size_t errlen);

/* Would librdkafka take cfg's Kafka properties? Builds (and drops) both
 * configurations, so a refused property is found before any client exists:
 * the one check `rfmd --check-config`, a start and a SIGHUP reload share.
 * 0, or -1 with err naming the YAML key. */
int kconf_check(const config *cfg, char *err, size_t errlen);

/* Set one property; err names `section.key`. Returns 0 or -1. */
int kconf_set(rd_kafka_conf_t *conf, const char *section, const char *key, const char *value,
              char *err, size_t errlen);

/* librdkafka log callback forwarding to rfm/log (syslog levels map 1:1). */
void kconf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
