/*
 * bench_engine — the engine's figures for BENCHMARKS.md (a benchmark, not a
 * test: it reports, it does not judge).
 *
 *   rfm-bench-engine CUSTOMERS ORDERS [REPEATS]
 *
 * 1. Inserts CUSTOMERS customers with 36-character UUID-like ids (one order
 *    each) and reports the RSS growth per customer.
 * 2. Applies ORDERS pre-decoded orders (Zipf-like: customer rank drawn
 *    log-uniformly, so a few customers are very active) REPEATS times and
 *    reports the apply rate of each pass, on one core.
 * 3. Recomputes breakpoints and rescores everyone REPEATS times.
 * Prints one `key value` line per figure; bench/run.sh turns them into tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "rfm/order.h"
#include "rfm/score.h"
#include "rfm/segment.h"
#include "rfm/snapshot.h"
#include "rfm/store.h"
#include "util/clock.h"

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4096L;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL; /* the same data on every run */

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CUSTOMERS ORDERS [REPEATS [SNAPSHOT_DIR]]\n", argv[0]);
        return 64;
    }
    size_t ncust = strtoull(argv[1], NULL, 10), norders = strtoull(argv[2], NULL, 10);
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    const char *snapdir = argc > 4 ? argv[4] : NULL;
    if (!ncust || !norders || repeats < 1 || repeats > 15)
        return 64;

    /* Input first, so the RSS growth below is the store's alone. */
    char *ids = malloc(ncust * 36);
    order *orders = malloc(norders * sizeof *orders);
    char *oids = malloc(norders * 12);
    if (!ids || !orders || !oids)
        return 1;
    for (size_t i = 0; i < ncust; i++)
        bench_make_id(ids + i * 36, i);
    const uint32_t t0 = 1577836800; /* 2020-01-01 */
    double logn = __builtin_log((double)ncust);
    for (size_t i = 0; i < norders; i++) {
        double u = (double)(bench_rng(&rng_state) >> 11) / 9007199254740992.0;
        size_t c = (size_t)__builtin_exp(u * logn) - 1;
        if (c >= ncust)
            c = ncust - 1;
        orders[i] = (order){.customer_id = {ids + c * 36, 36},
                            .order_id = {oids + i * 12, 12},
                            .ts = t0 + (int64_t)(bench_rng(&rng_state) % (540 * 86400)),
                            .amount_cents = (int64_t)(bench_rng(&rng_state) % 50000)};
    }

    store *st = store_new();
    long rss0 = rss_bytes();
    double t = bench_now_s();
    char oid[24];
    for (size_t i = 0; i < ncust; i++) {
        snprintf(oid, sizeof oid, "I%011zu", i);
        order o = {.customer_id = {ids + i * 36, 36},
                   .order_id = {oid, 12},
                   .ts = t0 + (int64_t)(bench_rng(&rng_state) % (540 * 86400)),
                   .amount_cents = 1000 + (int64_t)(bench_rng(&rng_state) % 100000)};
        if (order_apply(st, &o, NULL) != ORDER_APPLIED)
            return 1;
    }
    double insert_s = bench_now_s() - t;
    long rss1 = rss_bytes();
    printf("customers %zu\n", store_count(st));
    printf("insert_per_s %.0f\n", (double)ncust / insert_s);
    printf("rss_bytes_per_customer %.1f\n", (double)(rss1 - rss0) / (double)ncust);
    printf("store_bytes_per_customer %.1f\n", (double)store_memory(st) / (double)ncust);

    double rates[16], single[16], rescore[16];
    for (int r = 0; r < 2 * repeats; r++) {
        for (size_t i = 0; i < norders; i++) /* fresh order ids: no pass is a duplicate */
        {
            char tmp[40]; /* room for any int and size_t: -O0 builds check the bound */
            snprintf(tmp, sizeof tmp, "%02d%010zu", r, i);
            memcpy(oids + i * 12, tmp, 12);
        }
        t = bench_now_s();
        if (r % 2) {
            for (size_t i = 0; i < norders; i++)
                order_apply(st, &orders[i], NULL);
            single[r / 2] = (double)norders / (bench_now_s() - t);
            printf("apply_single_pass %d %.0f\n", r / 2, single[r / 2]);
        } else {
            for (size_t i = 0; i < norders; i += 512)
                order_apply_batch(st, &orders[i], norders - i < 512 ? norders - i : 512, NULL,
                                  NULL);
            rates[r / 2] = (double)norders / (bench_now_s() - t);
            printf("apply_batch_pass %d %.0f\n", r / 2, rates[r / 2]);
        }
    }
    printf("apply_batch_orders_per_s_median %.0f\n", bench_median(rates, repeats));
    printf("apply_single_orders_per_s_median %.0f\n", bench_median(single, repeats));

    score_settings ss;
    score_settings_default(&ss);
    segment_map map;
    segment_map_default(&map, ss.bins);
    score_breakpoints bp = {0};
    for (int r = 0; r < repeats; r++) {
        t = bench_now_s();
        if (score_breakpoints_compute(&ss, st, 0, bp.version, &bp))
            return 1;
        size_t changed = score_rescore_all(&ss, &bp, &map, st, NULL, NULL);
        rescore[r] = bench_now_s() - t;
        printf("rescore_pass %d %.3f changed %zu\n", r, rescore[r], changed);
    }
    printf("recompute_rescore_s_median %.3f\n", bench_median(rescore, repeats));
    printf("rss_total_bytes %ld\n", rss_bytes());

    /* Snapshots (issue 4): the pause a BGSAVE-style fork costs the loop, the
     * write of the file (what rfmd's child does), and a restore. The input
     * arrays go first: fork copies page tables, and rfmd holds no such
     * arrays beside its store. */
    free(ids);
    free(orders);
    free(oids);
    ids = NULL;
    orders = NULL;
    oids = NULL;
    if (snapdir) {
        double fork_ms[15], write_s[15], load_s[15];
        snapshot_offset off = {.topic = "orders", .partition = 0, .next = 12345};
        snapshot_source src = {.store = st,
                               .settings = &ss,
                               .bp = &bp,
                               .segments = &map,
                               .offsets = &off,
                               .noffsets = 1,
                               .created_ms = 1};
        for (int r = 0; r < repeats; r++) {
            t = bench_now_s();
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            fork_ms[r] = (bench_now_s() - t) * 1000;
            waitpid(pid, NULL, 0);
            char path[4096], err[512];
            t = bench_now_s();
            if (snapshot_save(snapdir, &src, path, sizeof path, err, sizeof err)) {
                fprintf(stderr, "snapshot: %s\n", err);
                return 1;
            }
            write_s[r] = bench_now_s() - t;
            store *back = NULL;
            snapshot_info info;
            t = bench_now_s();
            if (snapshot_load(path, snapshot_fingerprint(&ss), &map, &back, &info, err,
                              sizeof err)) {
                fprintf(stderr, "restore: %s\n", err);
                return 1;
            }
            load_s[r] = bench_now_s() - t;
            printf("snapshot_pass %d fork_ms %.2f write_s %.3f restore_s %.3f bytes %llu\n", r,
                   fork_ms[r], write_s[r], load_s[r], (unsigned long long)info.file_bytes);
            snapshot_info_free(&info);
            store_free(back);
            unlink(path);
        }
        printf("snapshot_fork_ms_median %.2f\n", bench_median(fork_ms, repeats));
        printf("snapshot_write_s_median %.3f\n", bench_median(write_s, repeats));
        double lm = bench_median(load_s, repeats);
        printf("snapshot_restore_s_median %.3f\n", lm);
        printf("snapshot_restore_customers_per_s %.0f\n", (double)ncust / lm);
    }

    store_free(st);
    free(ids);
    free(orders);
    free(oids);
    return 0;
}
