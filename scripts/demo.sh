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
build/rfmctl score --format flo "$flo" 2>/dev/null >"$work/batch.csv"
# Events are published when a segment changes, so a customer's last event
# carries its segment (recency and the rest as of that change); the check is
# the segment of every customer against the batch scorer's table.
"$here/scripts/python.sh" - "$work/segments.jsonl" "$work/batch.csv" <<'PY'
import collections, csv, json, sys
last = {}
for line in open(sys.argv[1]):
    if not line.endswith("\n"):
        break  # a line still being written
    e = json.loads(line)
    last[e["customer_id"]] = e["segment"]
batch = {row["customer_id"]: row["segment"] for row in csv.DictReader(open(sys.argv[2]))}
counts = collections.Counter(last.values())
print("segment,customers")
for s in sorted(counts):
    print(f"{s},{counts[s]}")
same = sum(1 for c, s in batch.items() if last.get(c) == s)
print(f"== {same} of {len(batch)} customers' final segment equals the batch scorer's (rfmctl score)")
sys.exit(0 if same == len(batch) == len(last) else 1)
PY
kill -TERM "${pids[0]}"
wait "${pids[0]}" && echo "== rfmd stopped cleanly"
