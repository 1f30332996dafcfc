/*
 * harness — end-to-end tests of rfmd against a real (mock) Kafka over TCP.
 *
 * The test process owns a librdkafka mock cluster, produces input into it,
 * runs the rfmd binary as a child process pointed at the cluster's bootstrap
 * servers, stops it with SIGTERM and reads the output topics back.
 */
#ifndef RFM_TEST_HARNESS_H
#define RFM_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define HARNESS_ORDERS   "orders"
#define HARNESS_SEGMENTS "segments"
#define HARNESS_DLQ      "dlq"
#define HARNESS_GROUP    "rfmd-test"
#define HARNESS_MAX_ENV  8

typedef struct harness {
    const char *rfmd; /* path of the binary */
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    rd_kafka_t *prod;
    int orders_parts, segments_parts, dlq_parts;
    char dir[256];
    /* Extra lines of the snapshot: section, e.g. "  interval: 200ms\n". */
    const char *snapshot_props;
    char conf_path[320];
    char log_path[320];
    const char *http_listen; /* http.listen written by harness_write_config; NULL: "" (off) */
    /* Extra environment of the rfmd child, "NAME=value" each (replacing a
     * variable of that name), NULL-terminated; unused slots NULL. */
    const char *env[HARNESS_MAX_ENV + 1];
    pid_t pid;
} harness;

/* Cluster with the three topics; a producer for test input. */
void harness_init(harness *h, const char *rfmd, int orders_parts, int segments_parts,
                  int dlq_parts);
/* Without a cluster of its own (rfmd's embedded one): call harness_attach
 * once the bootstrap servers are known. */
/* The group round's topics of kafka.group_id `group` on the mock (one
 * partition each, contract §9.2: the mock cannot create them over the
 * network); harness_init makes HARNESS_GROUP's. */
void harness_group_topics(harness *h, const char *group);

void harness_init_external(harness *h, const char *rfmd, int orders_parts, int segments_parts,
                           int dlq_parts);
void harness_attach(harness *h, const char *bootstraps);
void harness_cleanup(harness *h);

/* Produce (copying); header optional. Failures abort the test. */
void harness_produce(harness *h, const char *topic, const char *key, size_t key_len,
                     const void *value, size_t len);
/* Wait for every produced message to be delivered. */
void harness_flush(harness *h);

/* Write rfmd.yaml: brokers, topics, group and snapshot dir filled in;
 * `extra` holds more top-level YAML (may be NULL), `consumer_props` /
 * `producer_props` the bodies of kafka.consumer / kafka.producer maps
 * (indented by 4 spaces, may be NULL), `rescore` the interval. */
void harness_write_config(harness *h, const char *rescore, const char *consumer_props,
                          const char *producer_props, const char *extra);

/* Start path with argv (argv[0] included) and envp (NULL: this process's
 * environment), its stdout and stderr to log — appended, or truncated
 * first — and, when fsize > 0, a file size limit of that many bytes
 * (RLIMIT_FSIZE). Everything is prepared before the fork: librdkafka's
 * threads run in this process. Returns the child's pid; failures abort the
 * test. */
pid_t harness_fork_exec(const char *path, char *const argv[], char *const envp[], const char *log,
                        bool append, long long fsize);

void harness_spawn(harness *h);
/* SIGTERM, wait up to timeout_ms; returns the exit status (-1: did not exit,
 * was killed) and the time it took in *took_ms. */
int harness_stop(harness *h, int timeout_ms, int64_t *took_ms);
/* Print rfmd's log (stdout+stderr) to stderr, for failures. */
void harness_dump_log(const harness *h);
/* rfmd's log so far (caller frees), NULL if none. */
char *harness_log(const harness *h);
/* The whole of file path, NUL-terminated (its length in *len unless NULL;
 * caller frees); NULL when it cannot be read or out of memory. */
char *harness_slurp(const char *path, size_t *len);
/* True when rfmd's log contains s. */
bool harness_log_contains(const harness *h, const char *s);
/* Wait until rfmd's log has a line containing `prefix`, at least `nth`
 * times (1 = first); copy the rest of the nth such line into out. Fails
 * the test after timeout_ms. */
void harness_wait_log(const harness *h, const char *prefix, int nth, char *out, size_t outlen,
                      int timeout_ms);

/* One message read back. */
typedef struct hmsg {
    char *key;
    size_t key_len;
    char *value;
    size_t len;
    char *error_header;   /* rfmd-error value or NULL */
    int64_t input_offset; /* a changelog record's rfmd-input-offset header, else -1 */
    int32_t partition;
    int64_t offset;
    json_t *json; /* parsed value when it is JSON, else NULL */
} hmsg;

/* Reader of one topic from the beginning of every partition. */
typedef struct hreader {
    rd_kafka_t *rk;
    const char *topic;
    int nparts;
    int64_t *next; /* next offset seen per partition */
    hmsg *msgs;
    size_t n, cap;
} hreader;

hreader *hreader_open(harness *h, const char *topic, int nparts);
/* Read what arrives within timeout_ms; returns how many new messages. */
size_t hreader_poll(hreader *r, int timeout_ms);
/* Read until every partition is at its current high watermark. */
void hreader_drain(hreader *r, int timeout_ms);
void hreader_close(hreader *r);

/* The rfmd group's committed offset (RD_KAFKA_OFFSET_INVALID when none)
 * and the high watermark of each partition of topic. */
void harness_offsets(harness *h, const char *topic, int nparts, int64_t *committed, int64_t *high);

/* cmocka fixtures: a zeroed harness in *state; cleaned up (no rfmd child or
 * cluster outlives a test, also after a failed assertion) and freed. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* The rfmd binary from the test's command line (usage: TEST RFMD); exits 2
 * with a usage line when it is missing. */
const char *harness_rfmd_arg(int argc, char **argv);

/* How often s occurs in rfmd's log so far (0 without a log). */
size_t harness_log_count(const harness *h, const char *s);

/* Start rfmd, wait (up to timeout_ms) until it has consumed everything there
 * is ("backlog consumed"), then SIGTERM it; it must exit 0 within 10 s. */
void harness_run_to_end(harness *h, int timeout_ms);

/* JSON field helpers (abort the test on a missing field). */
const char *hjson_str(const json_t *o, const char *key); /* NULL when JSON null */
long long hjson_int(const json_t *o, const char *key);

/* ---- several rfmd ------------------------------------------------------- *
 * harness_spawn runs one rfmd; tests of a consumer group of several run
 * hinstances: each its own config, snapshot directory (h->dir/NAME) and log
 * (h->dir/NAME.log, appended by every start), HTTP on a free port. They are
 * the test's to stop: harness_cleanup knows nothing of them (call
 * harness_instance_kill from the teardown). */
typedef struct hinstance {
    char name[16];
    const char *rfmd;
    const harness *env; /* whose h->env the child gets */
    char dir[300];      /* snapshot.dir */
    char conf[320], log[320];
    char addr[64]; /* its HTTP server, "127.0.0.1:PORT", set by each start */
    int starts;
    pid_t pid; /* -1 when not running */
} hinstance;

/* Produce to an explicit partition (copying); failures abort the test. */
void harness_produce_at(harness *h, const char *topic, int32_t partition, const char *key,
                        size_t key_len, const void *value, size_t len);
/* Make h->dir/NAME and write in's config: like harness_write_config's, with
 * kafka.group_id `group`, snapshot.dir in->dir, http.listen 127.0.0.1:0. */
void harness_instance_init(harness *h, hinstance *in, const char *name, const char *group,
                           const char *rescore, const char *consumer_props, const char *extra);
/* Start it, wait (up to timeout_ms) until it listens: in->addr. */
void harness_instance_spawn(hinstance *in, int timeout_ms);
/* Send sig and wait up to timeout_ms: the exit status, 128 + the signal
 * that ended it, or -1 when it did not end (it is SIGKILLed then). */
int harness_instance_stop(hinstance *in, int sig, int timeout_ms);
/* SIGKILL it if it runs (teardowns). */
void harness_instance_kill(hinstance *in);

int64_t harness_now_ms(void);
void harness_sleep_ms(int ms);

#endif
