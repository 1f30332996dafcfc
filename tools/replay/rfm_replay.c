/*
 * rfm-replay — historical order files into Kafka (or stdout) as SPEC §2
 * order events, keyed by customer id.
 *
 * The loop is reader → event_encode_order → sink, one order at a time, so
 * memory stays flat whatever the file size. Pacing (--rate) is a token bucket
 * refilled from the monotonic clock: sleeping overshoots are paid back from the
 * bucket, so the long-run rate is N/s, and the bucket holds at most 100 ms
 * of orders, so a stall is not followed by an unbounded burst.
 *
 * The progress line only appears when stderr is a terminal. Its ETA needs the
 * number of orders, which only reading tells (FLO rows expand into many
 * orders, retail lines fold into invoices), so in that case the files are
 * read once beforehand just to count — silently, since the real pass reports
 * bad lines anyway. Piped or in tests, nothing is read twice.
 *
 * Completeness is the point of the tool: it waits for every delivery report
 * and exits non-zero if any order was not delivered (replay_kafka.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "replay.h"
#include "rfm/event.h"
#include "rfm/reader.h"
#include "util/clock.h"

#ifndef RFM_VERSION
#define RFM_VERSION "0.1.0"
#endif

#define CONNECT_TIMEOUT_MS 10000
#define PROGRESS_EVERY_S   0.25

bool replay_progress_shown;

typedef struct replay {
    reader_options ropt;
    event_fields fields;
    bool to_stdout, progress;
    replay_kafka *k;
    double rate, tokens, burst, last; /* token bucket; rate 0 = unlimited */
    double t0, next_draw;
    uint64_t total; /* orders in all files; 0 = unknown */
    uint64_t written;
    reader_stats rs;
    int error; /* exit code of a failure that stopped the reading */
} replay;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

static double now_s(void) {
    return (double)clock_mono_us() / 1e6;
}

void replay_progress_clear(void) {
    if (replay_progress_shown) {
        fputs("\r\033[K", stderr);
        replay_progress_shown = false;
    }
}

static void fmt_duration(char *buf, size_t len, double s) {
    unsigned long t = s > 0 && s < 1e9 ? (unsigned long)(s + 0.5) : 0;
    snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

static uint64_t done_count(const replay *r, uint64_t *delivered, uint64_t *failed) {
    if (r->k) {
        replay_kafka_stats st;
        replay_kafka_get_stats(r->k, &st);
        *delivered = st.delivered;
        *failed = st.failed;
        return st.sent;
    }
    *delivered = r->written;
    *failed = 0;
    return r->written;
}

static void progress_draw(replay *r, bool force) {
    if (!r->progress)
        return;
    double now = now_s();
    if (!force && now < r->next_draw)
        return;
    r->next_draw = now + PROGRESS_EVERY_S;
    uint64_t delivered, failed, sent = done_count(r, &delivered, &failed);
    double el = now - r->t0, rate = el > 0 ? (double)sent / el : 0;
    char line[256];
    int n =
        snprintf(line, sizeof line, "%s %llu", r->k ? "sent" : "written", (unsigned long long)sent);
    if (r->total)
        n += snprintf(line + n, sizeof line - (size_t)n, "/%llu (%.1f%%)",
                      (unsigned long long)r->total, 100.0 * (double)sent / (double)r->total);
    if (r->k)
        n += snprintf(line + n, sizeof line - (size_t)n, "  delivered %llu  failed %llu",
                      (unsigned long long)delivered, (unsigned long long)failed);
    n += snprintf(line + n, sizeof line - (size_t)n, "  %.0f/s", rate);
    if (r->total && sent < r->total && rate > 0) {
        char eta[32];
        fmt_duration(eta, sizeof eta, (double)(r->total - sent) / rate);
        snprintf(line + n, sizeof line - (size_t)n, "  ETA %s", eta);
    }
    fprintf(stderr, "\r%s\033[K", line);
    replay_progress_shown = true;
}

/* Wait for one token; serves delivery reports while waiting. */
static void throttle(replay *r) {
    if (r->rate <= 0)
        return;
    for (;;) {
        double now = now_s();
        r->tokens += (now - r->last) * r->rate;
        r->last = now;
        if (r->tokens > r->burst)
            r->tokens = r->burst;
        if (r->tokens >= 1.0 || interrupted) {
            r->tokens -= 1.0;
            return;
        }
        double wait = (1.0 - r->tokens) / r->rate;
        if (r->k)
            replay_kafka_poll(r->k, 0);
        progress_draw(r, false);
        struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int emit(void *ctx, const order *o) {
    replay *r = ctx;
    if (interrupted)
        return 1;
    throttle(r);
    char *line = event_encode_order(&r->fields, o);
    if (!line) {
        replay_progress_clear();
        fprintf(stderr, "rfm-replay: cannot encode the order of customer '%.*s'\n",
                (int)o->customer_id.len, o->customer_id.p);
        r->error = REPLAY_FAIL;
        return 1;
    }
    size_t len = strlen(line);
    if (r->to_stdout) {
        int bad = fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF;
        free(line);
        if (bad) {
            replay_progress_clear();
            fprintf(stderr, "rfm-replay: writing to stdout: %s\n", strerror(errno));
            r->error = REPLAY_FAIL;
            return 1;
        }
        r->written++;
    } else {
        replay_kafka_send(r->k, o->customer_id.p, o->customer_id.len, line, len);
        char err[512];
        if (replay_kafka_fatal(r->k, err, sizeof err)) {
            replay_progress_clear();
            fprintf(stderr, "rfm-replay: producer failed: %s\n", err);
            r->error = REPLAY_FAIL;
            return 1;
        }
    }
    progress_draw(r, false);
    return 0;
}

static int count_emit(void *ctx, const order *o) {
    (void)o;
    ++*(uint64_t *)ctx;
    return interrupted;
}

/* The ETA's denominator (see the top comment). 0 when it cannot be known. */
static uint64_t count_orders(const replay *r, char **files, int nfiles) {
    for (int i = 0; i < nfiles; i++)
        if (!strcmp(files[i], "-"))
            return 0;
    fputs("counting orders...", stderr);
    replay_progress_shown = true;
    fflush(stderr);
    int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, STDERR_FILENO);
    uint64_t n = 0;
    for (int i = 0; i < nfiles && !interrupted; i++) {
        char err[256];
        if (reader_read_file(files[i], &r->ropt, count_emit, &n, NULL, err, sizeof err) < 0) {
            n = 0; /* the real pass reports it */
            break;
        }
    }
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (devnull >= 0)
        close(devnull);
    replay_progress_clear();
    return n;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: rfm-replay --format flo|retail|jsonl (--brokers HOST:PORT --topic T | "
            "--stdout)\n"
            "                  [--rate N] [--refunds] [-X PROP=VALUE]... FILE...\n"
            "\n"
            "Replays historical orders (FILE '-' is stdin, '.gz' is decompressed) as order\n"
            "events, one Kafka message per order, keyed by customer id (formats and events:\n"
            "the contract, docs/contract.md). Waits for every delivery report; exits 1 if any "
            "order was not\n"
            "delivered.\n"
            "\n"
            "  -f, --format FMT      flo | retail | jsonl (required)\n"
            "  -b, --brokers LIST    bootstrap servers, HOST:PORT[,...]\n"
            "  -t, --topic T         topic to produce to\n"
            "  -r, --rate N          at most N orders per second (default: as fast as possible)\n"
            "      --refunds         retail: cancellation invoices ('C...') become refunds\n"
            "      --stdout          write JSONL to stdout instead of Kafka\n"
            "  -X PROP=VALUE         librdkafka producer property, repeatable, applied after\n"
            "                        the defaults: enable.idempotence=true, linger.ms=10,\n"
            "                        partitioner=murmur2_random (Java-compatible)\n"
            "  -q, --quiet           no progress line, no summary\n"
            "  -h, --help            this text\n"
            "  -V, --version         print the version\n"
            "\n"
            "Exit: 0 all delivered, 1 failure (input, delivery), 64 usage, 69 brokers\n"
            "unreachable, 130 interrupted.\n");
}

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "rfm-replay: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(rfm-replay --help for usage)\n");
    return REPLAY_USAGE;
}

/* Every file readable before anything is produced: a typo should not leave a
 * half-replayed topic behind. */
static int check_files(char **files, int nfiles) {
    for (int i = 0; i < nfiles; i++) {
        if (strcmp(files[i], "-") && access(files[i], R_OK) != 0) {
            fprintf(stderr, "rfm-replay: %s: %s\n", files[i], strerror(errno));
            return REPLAY_FAIL;
        }
    }
    return REPLAY_OK;
}

static int replay_files(replay *r, char **files, int nfiles) {
    for (int i = 0; i < nfiles && !interrupted && !r->error; i++) {
        char err[512];
        reader_stats st = {0};
        if (reader_read_file(files[i], &r->ropt, emit, r, &st, err, sizeof err) < 0) {
            replay_progress_clear();
            fprintf(stderr, "rfm-replay: %s: %s\n", files[i], err);
            r->error = REPLAY_FAIL;
        }
        r->rs.lines += st.lines;
        r->rs.orders += st.orders;
        r->rs.skipped += st.skipped;
        r->rs.bad += st.bad;
    }
    return r->error;
}

/* Wait for every delivery report; librdkafka fails what it cannot deliver
 * within message.timeout.ms, so this ends. */
static void drain(replay *r) {
    char err[512];
    while (replay_kafka_outstanding(r->k) > 0 && !replay_kafka_fatal(r->k, err, sizeof err)) {
        replay_kafka_poll(r->k, 100);
        progress_draw(r, false);
    }
}

static int summarize(replay *r, bool quiet) {
    double el = now_s() - r->t0;
    uint64_t delivered, failed, sent = done_count(r, &delivered, &failed);
    progress_draw(r, true);
    replay_progress_clear();
    if (!quiet) {
        fprintf(stderr, "rfm-replay: read %llu lines: %llu orders, %llu lines skipped, %llu bad\n",
                (unsigned long long)r->rs.lines, (unsigned long long)r->rs.orders,
                (unsigned long long)r->rs.skipped, (unsigned long long)r->rs.bad);
        if (r->k)
            fprintf(stderr,
                    "rfm-replay: sent %llu, delivered %llu, failed %llu in %.2f s (%.0f/s)\n",
                    (unsigned long long)sent, (unsigned long long)delivered,
                    (unsigned long long)failed, el, el > 0 ? (double)delivered / el : 0.0);
        else
            fprintf(stderr, "rfm-replay: wrote %llu orders in %.2f s (%.0f/s)\n",
                    (unsigned long long)sent, el, el > 0 ? (double)sent / el : 0.0);
    }
    if (r->k && (failed || delivered != sent)) {
        fprintf(stderr, "rfm-replay: %llu of %llu orders were NOT delivered\n",
                (unsigned long long)(sent - delivered), (unsigned long long)sent);
        return REPLAY_FAIL;
    }
    if (r->error)
        return r->error;
    return interrupted ? REPLAY_INTERRUPT : REPLAY_OK;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'}, {"brokers", required_argument, 0, 'b'},
        {"topic", required_argument, 0, 't'},  {"rate", required_argument, 0, 'r'},
        {"refunds", no_argument, 0, 'R'},      {"stdout", no_argument, 0, 'S'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
    const char *format = NULL, *brokers = NULL, *topic = NULL, *rate = NULL;
    char **props = calloc((size_t)argc, sizeof *props);
    size_t nprops = 0;
    bool quiet = false;
    replay r = {0};
    int ch, code = REPLAY_OK;
    if (!props)
        return REPLAY_FAIL;
    opterr = 0; /* our own messages, without argv[0]'s path */
    while ((ch = getopt_long(argc, argv, ":f:b:t:r:X:qhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            format = optarg;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'r':
            rate = optarg;
            break;
        case 'R':
            r.ropt.cancellations_as_refunds = true;
            break;
        case 'S':
            r.to_stdout = true;
            break;
        case 'X':
            props[nprops++] = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            goto out;
        case 'V':
            printf("rfm-replay %s (librdkafka %s)\n", RFM_VERSION, rd_kafka_version_str());
            goto out;
        case ':':
            code = usage_error("option '%s' needs an argument", argv[optind - 1]);
            goto out;
        default:
            code = usage_error("unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    char **files = argv + optind;
    int nfiles = argc - optind;
    int fmt = format ? reader_format_parse(format) : -1;
    if (!format)
        code = usage_error("--format is required (flo, retail or jsonl)%s", "");
    else if (fmt < 0)
        code = usage_error("unknown --format '%s' (flo, retail or jsonl)", format);
    else if (nfiles == 0)
        code = usage_error("no input FILE given%s", "");
    else if (r.to_stdout && (brokers || topic || nprops))
        code = usage_error("--stdout writes JSONL; --brokers, --topic and -X are for Kafka%s", "");
    else if (!r.to_stdout && (!brokers || !*brokers))
        code = usage_error("--brokers HOST:PORT is required (or --stdout)%s", "");
    else if (!r.to_stdout && (!topic || !*topic))
        code = usage_error("--topic is required (or --stdout)%s", "");
    if (code)
        goto out;
    if (rate) {
        char *end;
        errno = 0;
        r.rate = strtod(rate, &end);
        if (errno || end == rate || *end || !isfinite(r.rate) || r.rate <= 0 || r.rate > 1e9) {
            code = usage_error("--rate '%s': expected a number of orders per second > 0", rate);
            goto out;
        }
        r.burst = r.rate / 10 > 1 ? r.rate / 10 : 1;
        r.tokens = 1;
    }
    r.ropt.format = (reader_format)fmt;
    event_fields_default(&r.fields);
    r.ropt.fields = &r.fields;
    if ((code = check_files(files, nfiles)))
        goto out;

    char err[512];
    if (!r.to_stdout) {
        r.k = replay_kafka_new(brokers, topic, props, nprops, err, sizeof err, &code);
        if (!r.k) {
            fprintf(stderr, "rfm-replay: %s\n", err);
            goto out;
        }
        if (replay_kafka_connect(r.k, CONNECT_TIMEOUT_MS, err, sizeof err) < 0) {
            fprintf(stderr, "rfm-replay: %s: %s\n", brokers, err);
            code = REPLAY_NOBROKER;
            goto out;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r.progress = !quiet && isatty(STDERR_FILENO);
    if (r.progress)
        r.total = count_orders(&r, files, nfiles);
    r.t0 = r.last = now_s();
    replay_files(&r, files, nfiles);
    if (r.to_stdout && fflush(stdout) != 0 && !r.error) {
        fprintf(stderr, "rfm-replay: writing to stdout: %s\n", strerror(errno));
        r.error = REPLAY_FAIL;
    }
    if (r.k)
        drain(&r);
    code = summarize(&r, quiet);
out:
    replay_kafka_free(r.k);
    free(props);
    return code;
}
