#!/usr/bin/env bash
# The main job, on one machine: build rfmd, start it on its embedded Kafka,
# replay the FLO orders into it, watch segment-change events arrive, and print
# the final segment summary read back from the segments topic — beside the
# batch scorer's summary of the same file, which it must equal.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
shared=${RFM_SHARED:-$here/../shared}
flo=$shared/data/flo_data_20k.csv

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target rfmd rfm-replay rfmctl

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/rfmd.yaml" <<YAML
kafka:
  brokers: embedded
rescore:
  interval: 2s
snapshot:
  dir: $work/state
http:
  listen: ""
YAML

echo "== starting rfmd on an embedded Kafka"
build/rfmd -c "$work/rfmd.yaml" >"$work/rfmd.out" 2>"$work/rfmd.log" &
pids+=($!)
boot=""
for _ in $(seq 100); do
    boot=$(sed -n 's/^rfmd: embedded Kafka at //p' "$work/rfmd.out")
    [ -n "$boot" ] && break
    sleep 0.1
done
[ -n "$boot" ] || { cat "$work/rfmd.log" >&2; echo "rfmd did not start" >&2; exit 1; }
echo "   bootstrap: $boot"

kcat -C -q -u -b "$boot" -t rfm.segments -o beginning -f '%s\n' >"$work/segments.jsonl" 2>/dev/null &
pids+=($!)

echo "== replaying $(basename "$flo") into topic 'orders'"
build/rfm-replay --format flo --brokers "$boot" --topic orders "$flo"

echo "== segment changes arriving (first five):"
for _ in $(seq 50); do
    [ "$(wc -l <"$work/segments.jsonl")" -ge 5 ] && break
    sleep 0.2
done
head -5 "$work/segments.jsonl" | sed 's/^/   /'

# Wait for a rescore after the last order, then for the topic to go quiet.
echo "== waiting for the rescore after the replay and for events to settle"
customers=$(($(wc -l <"$flo") - 1))
prev=-1
quiet=0
for _ in $(seq 120); do
    sleep 1
    n=$(wc -l <"$work/segments.jsonl")
    if [ "$n" -eq "$prev" ] && [ "$n" -ge "$customers" ]; then
        quiet=$((quiet + 1))
        [ $quiet -ge 3 ] && break
    else
        quiet=0
    fi
    prev=$n
done
echo "   $(wc -l <"$work/segments.jsonl") segment-change events"

echo "== final segments, from the last event of each customer on rfm.segments"
"$here/scripts/python.sh" - "$work/segments.jsonl" <<'PY' | tee "$work/stream.csv"
import collections, json, sys
last = {}
for line in open(sys.argv[1]):
    if not line.endswith("\n"):
        break  # a line still being written
    e = json.loads(line)
    last[e["customer_id"]] = e
acc = collections.defaultdict(lambda: [0, 0, 0, 0])  # integer sums, cents
for e in last.values():
    a = acc[e["segment"]]
    a[0] += 1; a[1] += e["recency_days"]; a[2] += e["frequency"]; a[3] += round(e["monetary"] * 100)
print("segment,customers,recency_mean,frequency_mean,monetary_mean")
for s in sorted(acc):
    n, r, f, m = acc[s]
    print(f"{s},{n},{r/n:.2f},{f/n:.2f},{m/100/n:.2f}")
PY
build/rfmctl summary --format flo "$flo" 2>/dev/null >"$work/batch.csv"
if cmp -s "$work/stream.csv" "$work/batch.csv"; then
    echo "== the stream's final segments equal the batch scorer's (rfmctl summary)"
else
    echo "== the stream differs from the batch scorer:" >&2
    diff "$work/batch.csv" "$work/stream.csv" >&2 || true
    exit 1
fi
kill -TERM "${pids[0]}"
wait "${pids[0]}" && echo "== rfmd stopped cleanly"
