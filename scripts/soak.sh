#!/usr/bin/env bash
# Soak: rfmd on a real Kafka broker for a long steady run, with snapshots and
# rescores going on, recording its RSS over time; RSS must be flat once the
# customer count stops growing.
#
# A generator (awk) streams orders with unique order ids for CUSTOMERS
# customers (customer = n mod CUSTOMERS) into rfm-replay --rate RATE; rfmd
# consumes them with rescore every 60 s and a snapshot every 120 s. Every 10 s
# the script records elapsed seconds, rfmd's RSS and its customer count (from
# its progress line). At the end rfmd gets SIGTERM and must exit 0, and RSS
# must be flat once the customer count stops growing: it moves with each
# rescore's burst of events (rfmd hands freed memory back afterwards), so the
# verdict compares means, not single samples — the mean over the last third of
# that period may exceed the mean over the middle third by less than 3 %.
#
# usage: scripts/soak.sh [MINUTES [CUSTOMERS [RATE]]]   (default 35, 2000000, 20000)
# output: soak-rss.csv in the current directory, and a summary on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
kafka_reexec 8 "$@"
minutes=${1:-35}
customers=${2:-2000000}
rate=${3:-20000}
out=$PWD/soak-rss.csv
kafka_build rfmd rfm-replay
kafka_tmp

kafka_rfmd_config "$tmp/rfmd.yaml" rfmd-soak 60s "$tmp/state" 120s 2
kafka_rfmd_start "$build/rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"

# Every customer appears within the first CUSTOMERS orders (7919 is prime to
# any CUSTOMERS of the form 2^a 5^b); days advance every 500k orders.
awk -v c="$customers" 'BEGIN {
    for (n = 0; ; n++) {
        d = int(n / 500000) % 336
        printf "{\"order_id\":\"s%d\",\"customer_id\":\"cust-%010d\",\"ts\":\"2021-%02d-%02dT%02d:00:00Z\",\"amount\":%d.%02d}\n",
            n, (n * 7919) % c, 1 + int(d / 28), 1 + d % 28, n % 24, 1 + n % 400, n % 100
    }
}' | "$build/rfm-replay" --format jsonl --brokers "$KAFKA_BOOTSTRAP" --topic orders \
    --rate "$rate" - >"$tmp/replay.log" 2>&1 &
kafka_track $!

echo "seconds,rss_kb,customers" >"$out"
t0=$SECONDS
end=$((t0 + minutes * 60))
while [ $SECONDS -lt $end ]; do
    sleep 10
    kill -0 "$rfmd_pid" 2>/dev/null || { echo "rfmd died" >&2; tail -20 "$tmp/rfmd.log" >&2; exit 1; }
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$rfmd_pid/status")
    cust=$(grep -o 'customers [0-9]*' "$tmp/rfmd.log" | tail -1 | awk '{ print $2 }' || true)
    echo "$((SECONDS - t0)),$rss,${cust:-0}" >>"$out"
done
kafka_rfmd_stop
status=$rfmd_status
grep -E 'snapshot \((interval|shutdown)\) written|rescore \(interval\)' "$tmp/rfmd.log" |
    awk '/snapshot/ { s++ } /rescore/ { r++ } END { printf "snapshots written %d, interval rescores %d\n", s, r }' || true
grep -q "snapshot (interval) failed" "$tmp/rfmd.log" && echo "snapshot failures: $(grep -c 'snapshot (interval) failed' "$tmp/rfmd.log")"
sed -n 's/.*snapshot (interval) written: .* in \([0-9]*\) ms; ingestion paused \([0-9.]*\) ms (fork), longest gap between input messages \([0-9.]*\) ms (\([0-9.]*\) ms between.*/\1 \2 \3 \4/p' "$tmp/rfmd.log" |
    awk '{ if ($1 > w) w = $1; if ($2 > p) p = $2; if ($3 > g) g = $3; if ($4 > o) o = $4; n++ }
         END { if (n) printf "snapshots: longest write %d ms, longest fork %.1f ms, longest gap between input messages while one was taken %.1f ms (between snapshots %.1f ms)\n", w, p, g, o }' || true
echo "rfmd exit status after SIGTERM: $status"
verdict=0
awk -F, -v c="$customers" 'NR > 1 {
        t[NR] = $1; r[NR] = $2; k[NR] = $3; n = NR
        if (!full && $3 >= c) full = $1
    }
    END {
        printf "samples %d, peak customers %d, full at %d s\n", n - 1, k[n], full
        if (!full) { print "RSS: customers never stopped growing; no flatness verdict"; exit 2 }
        a = full + (t[n] - full) / 3; b = full + 2 * (t[n] - full) / 3
        for (i = 2; i <= n; i++) {
            if (t[i] < full) continue
            if (!lo || r[i] < lo) lo = r[i]
            if (r[i] > hi) hi = r[i]
            if (t[i] >= a && t[i] < b) { s2 += r[i]; n2++ }
            if (t[i] >= b) { s3 += r[i]; n3++ }
        }
        if (!n2 || !n3) { print "RSS: run too short for a verdict"; exit 2 }
        m2 = s2 / n2; m3 = s3 / n3
        printf "RSS after full: min %d kB, max %d kB; mean of the middle third %d kB, of the last third %d kB: %+.2f %% (must be < 3 %%)\n",
            lo, hi, m2, m3, (m3 - m2) * 100.0 / m2
        exit (m3 - m2) * 100.0 / m2 < 3.0 ? 0 : 1
    }' "$out" || verdict=$?
[ "$status" = 0 ] || exit 1
exit $verdict
