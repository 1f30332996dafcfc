/*
 * rfmd — command line. Everything that can be wrong with the configuration
 * (YAML, values, Kafka properties librdkafka refuses) is found here, before
 * any Kafka client or socket exists, so `--check-config` and a real start
 * fail the same way on the same file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "kconf.h"
#include "log.h"
#include "rfm/config.h"

#ifndef RFM_VERSION
#define RFM_VERSION "0.0.0"
#endif

#define RFMD_DEFAULT_CONFIG "/etc/rfmd/rfmd.yaml"

static void usage(FILE *out) {
    fprintf(out,
            "usage: rfmd [-c FILE] [--check-config] [--start-empty] [-l LEVEL] [--version] "
            "[--help]\n"
            "\n"
            "Streaming RFM segmentation: consumes order events from Kafka, keeps per-customer\n"
            "recency/frequency/monetary state, rescores on a schedule and publishes\n"
            "segment-change events.\n"
            "\n"
            "  -c, --config FILE   configuration (default " RFMD_DEFAULT_CONFIG ")\n"
            "      --check-config  load the configuration, print OK or the error, exit\n"
            "      --start-empty   when snapshots exist but none is usable, start with an\n"
            "                      empty state instead of refusing to start\n"
            "  -l, --log-level L   override log.level (debug|info|notice|warning|error)\n"
            "  -V, --version       print the version\n"
            "  -h, --help          this text\n"
            "\n"
            "kafka.brokers: embedded starts an in-process Kafka (librdkafka mock cluster) and\n"
            "prints its bootstrap servers on stdout.\n"
            "\n"
            "Environment: RFMD_LOG_FORMAT=auto|journal|text overrides log.format; under\n"
            "systemd, NOTIFY_SOCKET and WATCHDOG_USEC enable sd_notify(3) readiness, status\n"
            "and watchdog pings; JOURNAL_STREAM selects the journal log format (auto).\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop cleanly (final rescore, flush, commit, snapshot);\n"
            "SIGHUP reloads the configuration file; SIGUSR1 writes a snapshot now.\n"
            "\n"
            "Exit status: 0 ok (also after SIGTERM/SIGINT); 1 usage or configuration error;\n"
            "2 fatal Kafka error or an event that could not be delivered; 3 internal error\n"
            "(out of memory, embedded Kafka failed to start); 4 snapshots exist in\n"
            "snapshot.dir and none is usable (see --start-empty).\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"start-empty", no_argument, NULL, 'E'},
        {NULL, 0, NULL, 0},
    };
    const char *path = RFMD_DEFAULT_CONFIG;
    const char *level_arg = NULL;
    int check_only = 0;
    daemon_options dopt = {0};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check_only = 1;
            break;
        case 'E':
            dopt.start_empty = true;
            break;
        case 'l':
            level_arg = optarg;
            break;
        case 'V':
            printf("rfmd %s (librdkafka %s)\n", RFM_VERSION, rd_kafka_version_str());
            return DAEMON_EXIT_OK;
        case 'h':
            usage(stdout);
            return DAEMON_EXIT_OK;
        default:
            usage(stderr);
            return DAEMON_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rfmd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return DAEMON_EXIT_CONFIG;
    }
    int level = -1;
    if (level_arg && (level = log_level_parse(level_arg)) < 0) {
        fprintf(stderr, "rfmd: --log-level: unknown level '%s'\n", level_arg);
        return DAEMON_EXIT_CONFIG;
    }

    config cfg;
    char err[1024];
    if (config_load(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "rfmd: %s\n", err);
        return DAEMON_EXIT_CONFIG;
    }
    if (level < 0 && cfg.log.level && (level = log_level_parse(cfg.log.level)) < 0) {
        fprintf(stderr, "rfmd: %s: log.level: unknown level '%s'\n", path, cfg.log.level);
        config_free(&cfg);
        return DAEMON_EXIT_CONFIG;
    }
    const char *env_format = getenv("RFMD_LOG_FORMAT");
    if (env_format && *env_format && log_format_parse(env_format) < 0) {
        fprintf(stderr, "rfmd: RFMD_LOG_FORMAT: must be auto, journal or text, got '%s'\n",
                env_format);
        config_free(&cfg);
        return DAEMON_EXIT_CONFIG;
    }
    if (env_format && !*env_format)
        env_format = NULL;
    if (kconf_check(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "rfmd: %s: %s\n", path, err);
        config_free(&cfg);
        return DAEMON_EXIT_CONFIG;
    }
    if (check_only) {
        printf("%s: OK\n", path);
        config_free(&cfg);
        return DAEMON_EXIT_OK;
    }
    if (level >= 0)
        log_set_level(level);
    log_set_format(log_format_parse(env_format ? env_format : cfg.log.format));

    int rc = daemon_run(&cfg, &dopt);
    config_free(&cfg);
    return rc;
}
