/*
 * topic_admin — see topic_admin.h.
 *
 * The new topics are the caller's (partitions, replication factor,
 * configs): this module only sends them. A result event is destroyed
 * before return, so what the caller formats from it (a failure's detail, a
 * policy) is copied out.
 */
#include "topic_admin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kconf.h"
#include "log.h"
#include "util/errbuf.h"

int topic_admin_open(topic_admin *ta, const config *cfg, const char *brokers, const char *what,
                     int timeout_ms, char *err, size_t errlen) {
    ta->rk = NULL;
    ta->timeout_ms = timeout_ms;
    rd_kafka_conf_t *conf = kconf_build(cfg, KCONF_PRODUCER, brokers, err, errlen);
    if (!conf)
        return -1;
    char kerr[512];
    ta->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
    if (!ta->rk) {
        rd_kafka_conf_destroy(conf);
        errbuf_set(err, errlen, "%s: kafka.producer: %s", what, kerr);
        return -1;
    }
    return 0;
}

void topic_admin_close(topic_admin *ta) {
    if (ta->rk)
        rd_kafka_destroy(ta->rk);
    ta->rk = NULL;
}

rd_kafka_resp_err_t topic_admin_metadata(const topic_admin *ta,
                                         const struct rd_kafka_metadata **md) {
    return rd_kafka_metadata(ta->rk, 1, NULL, md, ta->timeout_ms);
}

int topic_admin_count(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic))
            return md->topics[i].err ? -1 : md->topics[i].partition_cnt;
    return -1;
}

int topic_admin_await(const topic_admin *ta, const char *const *topics, size_t n, int *counts,
                      rd_kafka_resp_err_t *merr) {
    for (int tries = 0;; tries++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = topic_admin_metadata(ta, &md);
        bool listed = !e;
        if (!e) {
            for (size_t i = 0; i < n; i++) {
                int c = topic_admin_count(md, topics[i]);
                if (counts)
                    counts[i] = c;
                listed = listed && c > 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (merr)
            *merr = e;
        if (listed)
            return 0;
        if (tries == 20)
            return -1;
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The options of one request of type op: its timeout. */
static rd_kafka_AdminOptions_t *topic_admin_options(const topic_admin *ta, rd_kafka_admin_op_t op) {
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(ta->rk, op);
    char e[256];
    if (o)
        rd_kafka_AdminOptions_set_request_timeout(o, ta->timeout_ms, e, sizeof e);
    return o;
}

/* The result event of the one request on q; NULL on timeout. */
static rd_kafka_event_t *topic_admin_wait(const topic_admin *ta, rd_kafka_queue_t *q) {
    return rd_kafka_queue_poll(q, ta->timeout_ms + 2000);
}

int topic_admin_create(const topic_admin *ta, rd_kafka_NewTopic_t **nt, const char *const *names,
                       size_t n, topic_admin_failure *f) {
    f->code = RD_KAFKA_RESP_ERR_NO_ERROR;
    f->topic = n;
    f->msg[0] = '\0';
    const char *msg = NULL;
    rd_kafka_queue_t *q = rd_kafka_queue_new(ta->rk);
    rd_kafka_AdminOptions_t *o = topic_admin_options(ta, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(ta->rk, nt, n, o, q);
    rd_kafka_event_t *ev = topic_admin_wait(ta, q);
    if (!ev) {
        f->code = RD_KAFKA_RESP_ERR__TIMED_OUT;
    } else if (rd_kafka_event_error(ev)) {
        f->code = rd_kafka_event_error(ev);
        msg = rd_kafka_event_error_string(ev);
    } else {
        size_t nr = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nr);
        for (size_t i = 0; i < nr && !f->code; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            if (!te || te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                continue; /* another instance may have been quicker */
            f->code = te;
            msg = rd_kafka_topic_result_error_string(tr[i]);
            for (size_t k = 0; k < n && f->topic == n; k++)
                if (!strcmp(names[k], rd_kafka_topic_result_name(tr[i])))
                    f->topic = k;
        }
    }
    if (msg)
        snprintf(f->msg, sizeof f->msg, "%s", msg);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    if (!f->code)
        return 0;
    return f->code == RD_KAFKA_RESP_ERR__TIMED_OUT || f->code == RD_KAFKA_RESP_ERR__TRANSPORT ? -2
                                                                                              : -1;
}

int topic_admin_policy(const topic_admin *ta, const char *what, const char *topic, char *buf,
                       size_t buflen, const char **policy, char *err, size_t errlen) {
    *policy = NULL;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(ta->rk);
    rd_kafka_AdminOptions_t *o = topic_admin_options(ta, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(ta->rk, &res, 1, o, q);
    rd_kafka_event_t *ev = topic_admin_wait(ta, q);
    rd_kafka_resp_err_t code = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!code) {
        size_t n = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
        code = n ? rd_kafka_ConfigResource_error(rs[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        size_t nc = 0;
        const rd_kafka_ConfigEntry_t **ce =
            n && !code ? rd_kafka_ConfigResource_configs(rs[0], &nc) : NULL;
        for (size_t i = 0; i < nc; i++) {
            if (strcmp(rd_kafka_ConfigEntry_name(ce[i]), "cleanup.policy"))
                continue;
            const char *v = rd_kafka_ConfigEntry_value(ce[i]);
            *policy = v ? buf : NULL;
            if (v)
                snprintf(buf, buflen, "%s", v);
        }
    }
    int rc = 0;
    if (code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
        code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
        log_notice("%s: the cluster does not describe topic configs (%s): the cleanup.policy "
                   "of %s is not checked",
                   what, rd_kafka_err2name(code), topic);
        rc = 1;
    } else if (code) {
        errbuf_set(err, errlen, "%s topic %s: cannot read its cleanup.policy: %s", what, topic,
                   rd_kafka_err2str(code));
        rc = -2;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return rc;
}

bool topic_admin_is_mock(const topic_admin *ta) {
    char *id = rd_kafka_clusterid(ta->rk, ta->timeout_ms);
    bool mock = id && !strncmp(id, "mockCluster", 11);
    if (id)
        rd_kafka_mem_free(ta->rk, id);
    return mock;
}
