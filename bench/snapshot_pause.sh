#!/usr/bin/env bash
# The daemon-level snapshot figures of BENCHMARKS.md at 10M customers, on a
# real Apache Kafka broker (tests/kafka/broker.sh; started here when
# KAFKA_BOOTSTRAP is not set):
#
#  1. rfmd reads CUSTOMERS orders of as many customers (8 partitions), scores
#     them (its first rescore publishes every customer) and stops: the
#     shutdown snapshot is the write time at full size.
#  2. MORE orders of those customers are added while it is stopped; rfmd
#     restarts (restore time and rate from its log) and reads them as a
#     backlog, so input is always waiting. Every SNAP_EVERY seconds SIGUSR1
#     takes a snapshot while it ingests: rfmd logs, per snapshot, the fork
#     pause and the longest interval between two input messages while the
#     child was writing — the ingestion gap — and, as the peer figure from
#     the same run, the longest interval between snapshots.
#
# usage: bench/snapshot_pause.sh [CUSTOMERS [MORE [SNAP_EVERY]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
    exec "$here/tests/kafka/broker.sh" run --partitions 8 -- "$0" "$@"
fi
customers=${1:-10000000}
more=${2:-6000000}
every=${3:-4}
boot=$KAFKA_BOOTSTRAP
build=${RFM_BENCH_BUILD:-$here/build-bench}
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target rfmd rfm-replay rfmctl >"$build.log" ||
    { cat "$build.log" >&2; exit 1; }

tmp=$(mktemp -d)
rfmd_pid=""
cleanup() {
    [ -n "$rfmd_pid" ] && kill -KILL "$rfmd_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "# rfmd snapshot benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, Kafka broker on 127.0.0.1"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

orders() { # first count customers
    awk -v f="$1" -v n="$2" -v nc="$3" 'BEGIN {
        for (i = f; i < f + n; i++) {
            c = (i * 7919) % nc
            printf "{\"order_id\":\"o%d\",\"customer_id\":\"c%09d\",\"ts\":\"2021-%02d-%02dT10:00:00Z\",\"amount\":%d.%02d}\n",
                i, c, 1 + i % 12, 1 + i % 28, 5 + i % 300, i % 100
        }
    }'
}

mkdir -p "$tmp/state"
cat >"$tmp/rfmd.yaml" <<YAML
kafka:
  brokers: "$boot"
  group_id: rfmd-snapshot-bench
rescore:
  interval: 1h
snapshot:
  dir: "$tmp/state"
  interval: 1h
  keep: 2
http:
  listen: ""
YAML

wait_log() { # pattern seconds [count]
    local end=$((SECONDS + $2))
    until [ "$(grep -c "$1" "$tmp/rfmd.log" || true)" -ge "${3:-1}" ]; do
        [ $SECONDS -lt $end ] || { echo "timeout waiting for '$1'" >&2; tail "$tmp/rfmd.log" >&2; exit 1; }
        kill -0 "$rfmd_pid" 2>/dev/null || { echo "rfmd exited" >&2; tail "$tmp/rfmd.log" >&2; exit 1; }
        sleep 0.2
    done
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

orders 0 "$customers" "$customers" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders - 2>/dev/null
echo
echo "## 1. $customers customers: ingest, first scoring, shutdown snapshot"
"$build/rfmd" -c "$tmp/rfmd.yaml" >"$tmp/rfmd.log" 2>&1 &
rfmd_pid=$!
wait_log "rescore (caught up)" 1200
end=$((SECONDS + 1200))
until sed -n '/rescore (caught up)/,$p' "$tmp/rfmd.log" | grep -q 'pending 0;'; do
    [ $SECONDS -lt $end ] || { echo "rfmd's events did not drain" >&2; exit 1; }
    sleep 0.5
done
kill -TERM "$rfmd_pid"
wait "$rfmd_pid" || true
rfmd_pid=""
grep -E 'backlog consumed|rescore \(caught up\)|snapshot \(shutdown\)' "$tmp/rfmd.log" | sed 's/^<[0-9]>//'

echo
echo "## 2. restart with $more more orders waiting; SIGUSR1 every $every s while they are read"
orders "$customers" "$more" "$customers" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders - 2>/dev/null
mv "$tmp/rfmd.log" "$tmp/rfmd1.log"
: >"$tmp/rfmd.log"
"$build/rfmd" -c "$tmp/rfmd.yaml" >"$tmp/rfmd.log" 2>&1 &
rfmd_pid=$!
wait_log "consumer: assigned" 600
asked=0
while ! grep -q "backlog consumed" "$tmp/rfmd.log"; do
    sleep "$every"
    grep -q "backlog consumed" "$tmp/rfmd.log" && break
    kill -USR1 "$rfmd_pid"
    asked=$((asked + 1))
    wait_log "snapshot (SIGUSR1) written\|snapshot (SIGUSR1) failed" 120 "$asked"
done
kill -TERM "$rfmd_pid"
wait "$rfmd_pid" || true
rfmd_pid=""
grep -E 'restored|backlog consumed|snapshot \(SIGUSR1\)' "$tmp/rfmd.log" | sed 's/^<[0-9]>//'

echo
sed -n 's/.*snapshot (SIGUSR1) written: .* in \([0-9]*\) ms; ingestion paused \([0-9.]*\) ms (fork), longest gap between input messages \([0-9.]*\) ms (\([0-9.]*\) ms between.*/\1 \2 \3 \4/p' \
    "$tmp/rfmd.log" >"$tmp/snaps"
n=$(wc -l <"$tmp/snaps")
[ "$n" -gt 0 ] || { echo "no snapshot was taken during the backlog" >&2; exit 1; }
printf 'snapshots_during_ingest %d\n' "$n"
printf 'snapshot_write_ms_median %s\n' "$(cut -d' ' -f1 "$tmp/snaps" | median)"
printf 'snapshot_fork_ms_median %s max %s\n' "$(cut -d' ' -f2 "$tmp/snaps" | median)" "$(cut -d' ' -f2 "$tmp/snaps" | sort -g | tail -1)"
printf 'snapshot_ingest_gap_ms_median %s max %s\n' "$(cut -d' ' -f3 "$tmp/snaps" | median)" "$(cut -d' ' -f3 "$tmp/snaps" | sort -g | tail -1)"
printf 'between_snapshots_gap_ms_median %s max %s\n' "$(cut -d' ' -f4 "$tmp/snaps" | median)" "$(cut -d' ' -f4 "$tmp/snaps" | sort -g | tail -1)"
sed -n 's/.*snapshot (shutdown) written: .*, \([0-9.]*\) MB in \([0-9]*\) ms.*/shutdown_snapshot_mb \1\nshutdown_snapshot_write_ms \2/p' "$tmp/rfmd1.log"
sed -n 's/.*restored .*: \([0-9]*\) customers, .* in \([0-9]*\) ms.*/restore_customers \1\nrestore_ms \2/p' "$tmp/rfmd.log"
