#!/usr/bin/env bash
# rfmd end to end on a real Apache Kafka broker (run under tests/kafka/broker.sh
# run, which sets KAFKA_BOOTSTRAP): rfm-replay sends the FLO file, rfmd consumes
# it, an independent client (kcat) reads the segments topic, and the last event
# of every one of the 19,945 customers carries the seed notebook's segment
# (tests/data/flo_golden.csv), with every order checked to be on its
# customer's partition (input.partitioner: murmur2_random). Then SIGTERM:
# rfmd must exit 0 within 10 s.
#
# usage: test_daemon_kafka.sh RFMD RFM_REPLAY
set -euo pipefail
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$(dirname "$0")/../scripts/lib/kafka.sh"
rfmd=$1
replay=$2
boot=${KAFKA_BOOTSTRAP:?run me under tests/kafka/broker.sh run}
src=${RFM_SOURCE:?}
flo=${RFM_SHARED:?}/data/flo_data_20k.csv
golden=$src/tests/data/flo_golden.csv
kafka_tmp
fail() {
    echo "FAIL: $*" >&2
    tail -20 "$tmp/rfmd.log" >&2 || true
    exit 1
}

kafka_rfmd_config "$tmp/rfmd.yaml" rfmd-e2e 2s "$tmp/state"
# rfm-replay keys by customer with Java's partitioner: check every order
# against it (a misplaced one would be dead-lettered and its customer's
# segment would differ from the seed below).
printf 'input:\n  partitioner: murmur2_random\n' >>"$tmp/rfmd.yaml"

"$replay" -q --format flo --brokers "$boot" --topic orders "$flo"
kafka_rfmd_start "$rfmd" "$tmp/rfmd.yaml" "$tmp/rfmd.log"

# Read the segments topic with kcat until every customer's last event has the
# seed's segment (or two minutes pass).
check='import csv, json, sys
want = {r["customer_id"]: r["segment"] for r in csv.DictReader(open(sys.argv[1]))}
last = {}
for line in open(sys.argv[2]):
    if line.endswith("\n") and line.strip():
        e = json.loads(line)
        last[e["customer_id"]] = e["segment"]
bad = sum(1 for k, v in want.items() if last.get(k) != v)
extra = len(set(last) - set(want))
print(f"{len(last)} customers with events, {bad} differ from the seed, {extra} unknown")
sys.exit(0 if bad == 0 and extra == 0 else 1)'
ok=0
for _ in $(seq ${RFM_E2E_TRIES:-24}); do
    sleep 5
    kill -0 "$rfmd_pid" 2>/dev/null || fail "rfmd exited early"
    kafka_consume rfm.segments -f '%s\n' >"$tmp/segments.jsonl" 2>/dev/null || true
    if python3 -c "$check" "$golden" "$tmp/segments.jsonl" >"$tmp/check.out"; then
        ok=1
        break
    fi
done
cat "$tmp/check.out"
[ $ok -eq 1 ] || fail "segments on the real broker never matched the seed"
echo "ok: last event of all 19945 customers, read with kcat, equals the seed segment"

start=$(date +%s%N)
kafka_rfmd_stop
rc=$rfmd_status
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 0 ] || fail "rfmd exited $rc after SIGTERM"
[ "$ms" -lt 10000 ] || fail "rfmd took ${ms} ms to stop"
echo "ok: SIGTERM: exit 0 in ${ms} ms"
