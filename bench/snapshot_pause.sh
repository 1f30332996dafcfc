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
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$here/scripts/lib/kafka.sh"
kafka_reexec 8 "$@"
customers=${1:-10000000}
more=${2:-6000000}
every=${3:-4}
boot=$KAFKA_BOOTSTRAP
kafka_build rfmd rfm-replay rfmctl
kafka_tmp

kafka_bench_header snapshot

mkdir -p "$tmp/state"
kafka_rfmd_config "$tmp/rfmd.yaml" rfmd-snapshot-bench 1h "$tmp/state" 1h 2

kafka_orders 0 "$customers" "$customers" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders - 2>/dev/null
echo
echo "## 1. $customers customers: ingest, first scoring, shutdown snapshot"
kafka_rfmd_start "$build/rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"
kafka_wait_drained "$tmp/rfmd.log" 1200
kafka_rfmd_stop
grep -E 'backlog consumed|rescore \(caught up\)|snapshot \(shutdown\)' "$tmp/rfmd.log" | sed 's/^<[0-9]>//'

echo
echo "## 2. restart with $more more orders waiting; SIGUSR1 every $every s while they are read"
kafka_orders "$customers" "$more" "$customers" | "$build/rfm-replay" --format jsonl --brokers "$boot" --topic orders - 2>/dev/null
mv "$tmp/rfmd.log" "$tmp/rfmd1.log"
: >"$tmp/rfmd.log"
kafka_rfmd_start "$build/rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"
kafka_wait_log "$tmp/rfmd.log" "consumer: assigned" 600
asked=0
while ! grep -q "backlog consumed" "$tmp/rfmd.log"; do
    sleep "$every"
    grep -q "backlog consumed" "$tmp/rfmd.log" && break
    kill -USR1 "$rfmd_pid"
    asked=$((asked + 1))
    kafka_wait_log "$tmp/rfmd.log" "snapshot (SIGUSR1) written\|snapshot (SIGUSR1) failed" 120 "$asked"
done
kafka_rfmd_stop
grep -E 'restored|backlog consumed|snapshot \(SIGUSR1\)' "$tmp/rfmd.log" | sed 's/^<[0-9]>//'

echo
sed -n 's/.*snapshot (SIGUSR1) written: .* in \([0-9]*\) ms; ingestion paused \([0-9.]*\) ms (fork), longest gap between input messages \([0-9.]*\) ms (\([0-9.]*\) ms between.*/\1 \2 \3 \4/p' \
    "$tmp/rfmd.log" >"$tmp/snaps"
n=$(wc -l <"$tmp/snaps")
[ "$n" -gt 0 ] || { echo "no snapshot was taken during the backlog" >&2; exit 1; }
printf 'snapshots_during_ingest %d\n' "$n"
printf 'snapshot_write_ms_median %s\n' "$(cut -d' ' -f1 "$tmp/snaps" | kafka_median)"
printf 'snapshot_fork_ms_median %s max %s\n' "$(cut -d' ' -f2 "$tmp/snaps" | kafka_median)" "$(cut -d' ' -f2 "$tmp/snaps" | sort -g | tail -1)"
printf 'snapshot_ingest_gap_ms_median %s max %s\n' "$(cut -d' ' -f3 "$tmp/snaps" | kafka_median)" "$(cut -d' ' -f3 "$tmp/snaps" | sort -g | tail -1)"
printf 'between_snapshots_gap_ms_median %s max %s\n' "$(cut -d' ' -f4 "$tmp/snaps" | kafka_median)" "$(cut -d' ' -f4 "$tmp/snaps" | sort -g | tail -1)"
sed -n 's/.*snapshot (shutdown) written: .*, \([0-9.]*\) MB in \([0-9]*\) ms.*/shutdown_snapshot_mb \1\nshutdown_snapshot_write_ms \2/p' "$tmp/rfmd1.log"
sed -n 's/.*restored .*: \([0-9]*\) customers, .* in \([0-9]*\) ms.*/restore_customers \1\nrestore_ms \2/p' "$tmp/rfmd.log"
