/*
 * harness — see harness.h.
 *
 * The mock cluster lives in this process and rfmd in a child, so the two
 * talk real Kafka protocol over TCP like a deployment would. The child is
 * forked while librdkafka threads run, so between fork and exec it only
 * calls async-signal-safe functions (open, dup2, execv, _exit).
 *
 * Reading a topic back "completely" uses the partitions' high watermarks
 * rather than partition EOF events: librdkafka emits EOF once per catch-up,
 * so an EOF already consumed would never come again.
 */
#include "harness.h"
#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

int64_t harness_now_ms(void) {
    return clock_mono_ms();
}

void harness_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void harness_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if (level <= 3)
        fprintf(stderr, "harness kafka: %s: %s\n", fac, buf);
}

static rd_kafka_conf_t *harness_conf(const char *bootstraps) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set_log_cb(c, harness_quiet_log);
    if (bootstraps)
        assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", bootstraps, err, sizeof err),
                         RD_KAFKA_CONF_OK);
    return c;
}

static void harness_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "harness: test input not delivered: %s\n", rd_kafka_err2str(m->err));
        abort();
    }
}

static void harness_dirs(harness *h, const char *rfmd) {
    memset(h, 0, sizeof *h);
    h->rfmd = rfmd;
    h->pid = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof h->dir, "%s/rfmd-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->conf_path, sizeof h->conf_path, "%s/rfmd.yaml", h->dir);
    snprintf(h->log_path, sizeof h->log_path, "%s/rfmd.log", h->dir);
}

void harness_attach(harness *h, const char *bootstraps) {
    char err[256];
    snprintf(h->bootstraps, sizeof h->bootstraps, "%s", bootstraps);
    rd_kafka_conf_t *c = harness_conf(h->bootstraps);
    assert_int_equal(rd_kafka_conf_set(c, "linger.ms", "20", err, sizeof err), 0);
    assert_int_equal(rd_kafka_conf_set(c, "compression.type", "lz4", err, sizeof err), 0);
    assert_int_equal(
        rd_kafka_conf_set(c, "queue.buffering.max.messages", "200000", err, sizeof err), 0);
    /* Room for the hostile-input test's 1 MiB message. */
    assert_int_equal(rd_kafka_conf_set(c, "message.max.bytes", "2000000", err, sizeof err), 0);
    rd_kafka_conf_set_dr_msg_cb(c, harness_dr_cb);
    h->prod = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    assert_non_null(h->prod);
}

void harness_init_external(harness *h, const char *rfmd, int orders_parts, int segments_parts,
                           int dlq_parts) {
    harness_dirs(h, rfmd);
    h->orders_parts = orders_parts;
    h->segments_parts = segments_parts;
    h->dlq_parts = dlq_parts;
}

void harness_init(harness *h, const char *rfmd, int orders_parts, int segments_parts,
                  int dlq_parts) {
    harness_init_external(h, rfmd, orders_parts, segments_parts, dlq_parts);
    char err[256];
    h->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, harness_conf(NULL), err, sizeof err);
    assert_non_null(h->mock_rk);
    h->mc = rd_kafka_mock_cluster_new(h->mock_rk, 3);
    assert_non_null(h->mc);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, HARNESS_ORDERS, orders_parts, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, HARNESS_SEGMENTS, segments_parts, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, HARNESS_DLQ, dlq_parts, 1), 0);
    harness_group_topics(h, HARNESS_GROUP);
    harness_attach(h, rd_kafka_mock_cluster_bootstraps(h->mc));
}

void harness_group_topics(harness *h, const char *group) {
    static const char *const suffix[] = {"-control", "-breakpoints"};
    for (size_t i = 0; i < 2; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", group, suffix[i]);
        assert_int_equal(rd_kafka_mock_topic_create(h->mc, name, 1, 1), 0);
    }
}

static int harness_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void harness_cleanup(harness *h) {
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->pid = -1;
    }
    if (h->prod) {
        rd_kafka_flush(h->prod, 5000);
        rd_kafka_destroy(h->prod);
    }
    if (h->mc)
        rd_kafka_mock_cluster_destroy(h->mc);
    if (h->mock_rk)
        rd_kafka_destroy(h->mock_rk);
    if (h->dir[0])
        nftw(h->dir, harness_rm, 8, FTW_DEPTH | FTW_PHYS);
    memset(h, 0, sizeof *h);
    h->pid = -1;
}

void harness_produce(harness *h, const char *topic, const char *key, size_t key_len,
                     const void *value, size_t len) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            h->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(h->prod, 50);
            continue;
        }
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_poll(h->prod, 0);
        return;
    }
}

void harness_flush(harness *h) {
    assert_int_equal(rd_kafka_flush(h->prod, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* An rfmd.yaml at path: h's brokers and topics, the rest as given. */
static void harness_config_file(const harness *h, const char *path, const char *group,
                                const char *dir, const char *listen, const char *rescore,
                                const char *consumer_props, const char *producer_props,
                                const char *extra) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "kafka:\n"
            "  brokers: \"%s\"\n"
            "  group_id: %s\n",
            h->bootstraps, group);
    if (consumer_props)
        fprintf(f, "  consumer:\n%s", consumer_props);
    if (producer_props)
        fprintf(f, "  producer:\n%s", producer_props);
    fprintf(f,
            "topics:\n"
            "  orders: " HARNESS_ORDERS "\n"
            "  segments: " HARNESS_SEGMENTS "\n"
            "  dead_letter: " HARNESS_DLQ "\n"
            "rescore:\n"
            "  interval: %s\n"
            "snapshot:\n"
            "  dir: \"%s\"\n"
            "%s"
            "http:\n"
            "  listen: \"%s\"\n",
            rescore, dir, h->snapshot_props ? h->snapshot_props : "", listen ? listen : "");
    if (extra)
        fputs(extra, f);
    assert_int_equal(fclose(f), 0);
}

void harness_write_config(harness *h, const char *rescore, const char *consumer_props,
                          const char *producer_props, const char *extra) {
    harness_config_file(h, h->conf_path, HARNESS_GROUP, h->dir, h->http_listen, rescore,
                        consumer_props, producer_props, extra);
}

/* The child's environment: ours, with h->env replacing or adding
 * variables (caller frees the array, not the strings). */
static char **harness_environ(const harness *h) {
    extern char **environ;
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (extra < HARNESS_MAX_ENV && h->env[extra])
        extra++;
    char **envp = calloc(n + extra + 1, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < extra && !replaced; j++) {
            size_t len = strcspn(h->env[j], "=");
            replaced = !strncmp(environ[i], h->env[j], len + 1);
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        envp[k++] = (char *)h->env[j];
    envp[k] = NULL;
    return envp;
}

pid_t harness_fork_exec(const char *path, char *const argv[], char *const envp[], const char *log,
                        bool append, long long fsize) {
    int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    assert_true(fd >= 0);
    struct rlimit rl = {.rlim_cur = (rlim_t)fsize, .rlim_max = RLIM_INFINITY};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fsize > 0)
            setrlimit(RLIMIT_FSIZE, &rl);
        if (envp)
            execve(path, argv, envp);
        else
            execv(path, argv);
        _exit(127);
    }
    close(fd);
    return pid;
}

/* rfmd -c conf in h's environment, its output appended to log; its pid. */
static pid_t harness_exec(const harness *h, const char *rfmd, const char *conf, const char *log) {
    char *const argv[] = {(char *)rfmd, "-c", (char *)conf, NULL};
    char **envp = harness_environ(h);
    pid_t pid = harness_fork_exec(rfmd, argv, envp, log, true, 0);
    free(envp);
    return pid;
}

void harness_spawn(harness *h) {
    h->pid = harness_exec(h, h->rfmd, h->conf_path, h->log_path);
}

int harness_stop(harness *h, int timeout_ms, int64_t *took_ms) {
    assert_true(h->pid > 0);
    int64_t t0 = harness_now_ms();
    kill(h->pid, SIGTERM);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(h->pid, &status, WNOHANG);
        if (r == h->pid)
            break;
        if (harness_now_ms() - t0 > timeout_ms) {
            kill(h->pid, SIGKILL);
            waitpid(h->pid, NULL, 0);
            h->pid = -1;
            if (took_ms)
                *took_ms = harness_now_ms() - t0;
            return -1;
        }
        harness_sleep_ms(20);
    }
    h->pid = -1;
    if (took_ms)
        *took_ms = harness_now_ms() - t0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

char *harness_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void harness_dump_log(const harness *h) {
    char *log = harness_slurp(h->log_path, NULL);
    if (!log)
        return;
    fprintf(stderr, "---- rfmd log ----\n%s---- end of rfmd log ----\n", log);
    free(log);
}

char *harness_log(const harness *h) {
    return harness_slurp(h->log_path, NULL);
}

bool harness_log_contains(const harness *h, const char *s) {
    char *log = harness_slurp(h->log_path, NULL);
    bool found = log && strstr(log, s);
    free(log);
    return found;
}

/* harness_wait_log on the log file at path; dump(path) on failure. */
static void harness_wait_file(const char *path, const char *prefix, int nth, char *out,
                              size_t outlen, int timeout_ms) {
    int64_t t0 = harness_now_ms();
    for (;;) {
        char *log = harness_slurp(path, NULL);
        const char *at = log;
        int seen = 0;
        while (at && (at = strstr(at, prefix)) && ++seen < nth)
            at += strlen(prefix);
        if (at && seen == nth) {
            at += strlen(prefix);
            size_t n = strcspn(at, "\n");
            snprintf(out, outlen, "%.*s", (int)n, at);
            free(log);
            return;
        }
        if (harness_now_ms() - t0 > timeout_ms) {
            fprintf(stderr, "---- %s ----\n%s---- end of %s ----\n", path, log ? log : "", path);
            free(log);
            fail_msg("%s: no \"%s\" (%d times) within %d ms", path, prefix, nth, timeout_ms);
        }
        free(log);
        harness_sleep_ms(50);
    }
}

void harness_wait_log(const harness *h, const char *prefix, int nth, char *out, size_t outlen,
                      int timeout_ms) {
    harness_wait_file(h->log_path, prefix, nth, out, outlen, timeout_ms);
}

hreader *hreader_open(harness *h, const char *topic, int nparts) {
    hreader *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->topic = topic;
    r->nparts = nparts;
    r->next = calloc((size_t)nparts, sizeof *r->next);
    assert_non_null(r->next);
    rd_kafka_conf_t *c = harness_conf(h->bootstraps);
    char err[256];
    char group[128];
    snprintf(group, sizeof group, "harness-%s-%d", topic, (int)getpid());
    assert_int_equal(rd_kafka_conf_set(c, "group.id", group, err, sizeof err), 0);
    assert_int_equal(rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err), 0);
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    assert_non_null(r->rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(r->rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    return r;
}

static char *harness_dup(const void *p, size_t len) {
    char *s = malloc(len + 1);
    assert_non_null(s);
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void hreader_add(hreader *r, const rd_kafka_message_t *m) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->msgs = realloc(r->msgs, r->cap * sizeof *r->msgs);
        assert_non_null(r->msgs);
    }
    hmsg *x = &r->msgs[r->n++];
    memset(x, 0, sizeof *x);
    x->key = m->key ? harness_dup(m->key, m->key_len) : NULL;
    x->key_len = m->key_len;
    x->value = m->payload ? harness_dup(m->payload, m->len) : NULL;
    x->len = m->len;
    x->partition = m->partition;
    x->offset = m->offset;
    x->input_offset = -1;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const void *v;
        size_t vlen;
        if (rd_kafka_header_get_last(hdrs, "rfmd-error", &v, &vlen) == 0)
            x->error_header = harness_dup(v, vlen);
        char digits[24];
        if (rd_kafka_header_get_last(hdrs, "rfmd-input-offset", &v, &vlen) == 0 && v &&
            vlen < sizeof digits) {
            memcpy(digits, v, vlen);
            digits[vlen] = '\0';
            x->input_offset = strtoll(digits, NULL, 10);
        }
    }
    if (x->value)
        x->json = json_loadb(x->value, x->len, 0, NULL);
    if (m->partition >= 0 && m->partition < r->nparts)
        r->next[m->partition] = m->offset + 1;
}

size_t hreader_poll(hreader *r, int timeout_ms) {
    size_t before = r->n;
    int64_t end = harness_now_ms() + timeout_ms;
    int wait = timeout_ms;
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, wait < 0 ? 0 : wait);
        if (m) {
            if (!m->err)
                hreader_add(r, m);
            rd_kafka_message_destroy(m);
            wait = 0;
            continue;
        }
        if (wait == 0 && harness_now_ms() >= end)
            break;
        wait = (int)(end - harness_now_ms());
        if (wait <= 0)
            break;
    }
    return r->n - before;
}

void hreader_drain(hreader *r, int timeout_ms) {
    int64_t *hi = calloc((size_t)r->nparts, sizeof *hi);
    assert_non_null(hi);
    for (int p = 0; p < r->nparts; p++) {
        int64_t lo;
        assert_int_equal(rd_kafka_query_watermark_offsets(r->rk, r->topic, p, &lo, &hi[p], 10000),
                         0);
    }
    int64_t end = harness_now_ms() + timeout_ms;
    for (;;) {
        bool done = true;
        for (int p = 0; p < r->nparts; p++)
            if (hi[p] > 0 && r->next[p] < hi[p])
                done = false;
        if (done)
            break;
        if (harness_now_ms() > end) {
            free(hi);
            fail_msg("reading %s back: high watermarks not reached in %d ms", r->topic, timeout_ms);
        }
        hreader_poll(r, 200);
    }
    free(hi);
}

void hreader_close(hreader *r) {
    if (!r)
        return;
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    for (size_t i = 0; i < r->n; i++) {
        free(r->msgs[i].key);
        free(r->msgs[i].value);
        free(r->msgs[i].error_header);
        if (r->msgs[i].json)
            json_decref(r->msgs[i].json);
    }
    free(r->msgs);
    free(r->next);
    free(r);
}

void harness_offsets(harness *h, const char *topic, int nparts, int64_t *committed, int64_t *high) {
    rd_kafka_conf_t *c = harness_conf(h->bootstraps);
    char err[256];
    assert_int_equal(rd_kafka_conf_set(c, "group.id", HARNESS_GROUP, err, sizeof err), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), 0);
    for (int p = 0; p < nparts; p++) {
        committed[p] = l->elems[p].err ? RD_KAFKA_OFFSET_INVALID : l->elems[p].offset;
        int64_t lo;
        assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &high[p], 10000), 0);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

const char *hjson_str(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("event without field '%s'", key);
    if (json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        fail_msg("event field '%s' is not a string", key);
    return json_string_value(v);
}

long long hjson_int(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!v || !json_is_integer(v))
        fail_msg("event field '%s' missing or not an integer", key);
    return (long long)json_integer_value(v);
}

int harness_setup(void **state) {
    *state = calloc(1, sizeof(harness));
    return *state ? 0 : -1;
}

int harness_teardown(void **state) {
    harness_cleanup(*state);
    free(*state);
    return 0;
}

const char *harness_rfmd_arg(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s RFMD\n", argv[0]);
        exit(2);
    }
    return argv[1];
}

size_t harness_log_count(const harness *h, const char *s) {
    char *log = harness_log(h);
    size_t n = 0;
    for (const char *p = log; p && (p = strstr(p, s)); p += strlen(s))
        n++;
    free(log);
    return n;
}

void harness_run_to_end(harness *h, int timeout_ms) {
    size_t before = harness_log_count(h, "backlog consumed");
    harness_spawn(h);
    int64_t t0 = harness_now_ms();
    while (harness_log_count(h, "backlog consumed") == before && harness_now_ms() - t0 < timeout_ms)
        harness_sleep_ms(50);
    if (harness_log_count(h, "backlog consumed") == before) {
        harness_dump_log(h);
        fail_msg("rfmd did not catch up within %d ms", timeout_ms);
    }
    int64_t took;
    int status = harness_stop(h, 15000, &took);
    if (status != 0 || took > 10000) {
        harness_dump_log(h);
        fail_msg("SIGTERM: status %d after %lld ms", status, (long long)took);
    }
}

/* ---- several rfmd ------------------------------------------------------- */

void harness_produce_at(harness *h, const char *topic, int32_t partition, const char *key,
                        size_t key_len, const void *value, size_t len) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            h->prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(h->prod, 50);
            continue;
        }
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_poll(h->prod, 0);
        return;
    }
}

void harness_instance_init(harness *h, hinstance *in, const char *name, const char *group,
                           const char *rescore, const char *consumer_props, const char *extra) {
    memset(in, 0, sizeof *in);
    in->pid = -1;
    in->rfmd = h->rfmd;
    snprintf(in->name, sizeof in->name, "%s", name);
    snprintf(in->dir, sizeof in->dir, "%s/%s", h->dir, name);
    assert_int_equal(mkdir(in->dir, 0700), 0);
    snprintf(in->conf, sizeof in->conf, "%s/%s.yaml", h->dir, name);
    snprintf(in->log, sizeof in->log, "%s/%s.log", h->dir, name);
    harness_config_file(h, in->conf, group, in->dir, "127.0.0.1:0", rescore, consumer_props, NULL,
                        extra);
    in->env = h;
}

void harness_instance_spawn(hinstance *in, int timeout_ms) {
    assert_true(in->pid <= 0);
    in->pid = harness_exec(in->env, in->rfmd, in->conf, in->log);
    in->starts++;
    harness_wait_file(in->log, "http: listening on ", in->starts, in->addr, sizeof in->addr,
                      timeout_ms);
}

int harness_instance_stop(hinstance *in, int sig, int timeout_ms) {
    assert_true(in->pid > 0);
    int64_t t0 = harness_now_ms();
    kill(in->pid, sig);
    int status = 0;
    while (waitpid(in->pid, &status, WNOHANG) != in->pid) {
        if (harness_now_ms() - t0 > timeout_ms) {
            kill(in->pid, SIGKILL);
            waitpid(in->pid, NULL, 0);
            in->pid = -1;
            return -1;
        }
        harness_sleep_ms(20);
    }
    in->pid = -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void harness_instance_kill(hinstance *in) {
    if (in->pid > 0) {
        kill(in->pid, SIGKILL);
        waitpid(in->pid, NULL, 0);
    }
    in->pid = -1;
}
