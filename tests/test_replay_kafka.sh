#!/usr/bin/env bash
# rfm-replay against a real Apache Kafka broker: every order arrives exactly
# once, keyed by its customer id, each customer on one partition in file
# order; an unreachable cluster and a broker dying mid-replay both end in a
# non-zero exit. Expected counts are computed here from the input files (python3),
# not by the C readers; the topic is read back with kcat.
#
# usage: broker.sh run -- test_replay_kafka.sh RFM_REPLAY
#   (env KAFKA_BOOTSTRAP and RFM_KAFKA_DIR from broker.sh; RFM_SOURCE, RFM_SHARED)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../scripts/lib/kafka.sh
. "$(dirname "$0")/../scripts/lib/kafka.sh"
replay=$1
bootstrap=${KAFKA_BOOTSTRAP:?run me under tests/kafka/broker.sh run}
src=${RFM_SOURCE:?RFM_SOURCE not set}
shared=${RFM_SHARED:?RFM_SHARED not set}
small=$src/tests/kafka/orders_small.jsonl
flo=$shared/data/flo_data_20k.csv
kafka_tmp

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Whole topic: key, partition, offset, value — one line per message.
consume() {
    kafka_consume "$1" -f '%k\t%p\t%o\t%s\n'
}

# 1. The small JSONL fixture (one bad line, one blank line, 10 orders).
"$replay" --format jsonl --brokers "$bootstrap" --topic replay.small "$small" 2>"$tmp/small.err" ||
    { cat "$tmp/small.err" >&2; fail "jsonl replay exited $?"; }
grep -q 'sent 10, delivered 10, failed 0' "$tmp/small.err" || { cat "$tmp/small.err" >&2; fail "summary"; }
consume replay.small >"$tmp/small.tsv"
python3 - "$small" "$tmp/small.tsv" <<'EOF' || fail "small topic content"
import json, sys
from collections import defaultdict
exp = []
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        exp.append(json.loads(line))
    except ValueError:
        pass
msgs = [l.split("\t", 3) for l in open(sys.argv[2], encoding="utf-8").read().splitlines()]
assert len(msgs) == len(exp) == 10, f"{len(msgs)} messages, expected {len(exp)}"
for key, part, off, value in msgs:
    assert json.loads(value)["customer_id"] == key, f"key {key!r} is not the value's customer"
got = defaultdict(list)
for key, part, off, value in sorted(msgs, key=lambda m: (int(m[1]), int(m[2]))):
    got[key].append((part, json.loads(value)["order_id"]))
want = defaultdict(list)
for e in exp:
    want[e["customer_id"]].append(e["order_id"])
assert set(got) == set(want), f"keys {sorted(got)} != {sorted(want)}"
for k in want:
    assert len({p for p, _ in got[k]}) == 1, f"customer {k!r} spread over partitions"
    assert [o for _, o in got[k]] == want[k], f"customer {k!r}: {got[k]} not in file order"
EOF
ok "jsonl: 10 orders, keyed by customer, per-customer file order kept"

# 2. The FLO file: one message per purchase counted in the rows.
start=$(date +%s.%N)
"$replay" --format flo --brokers "$bootstrap" --topic replay.flo "$flo" 2>"$tmp/flo.err" ||
    { cat "$tmp/flo.err" >&2; fail "flo replay exited non-zero"; }
cat "$tmp/flo.err"
consume replay.flo >"$tmp/flo.tsv"
python3 - "$flo" "$tmp/flo.tsv" <<'EOF' || fail "flo topic content"
import csv, json, sys
from collections import Counter, defaultdict
want = Counter()
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        want[r["master_id"]] += int(float(r["order_num_total_ever_online"])) + int(
            float(r["order_num_total_ever_offline"]))
total = sum(want.values())
got, parts, n = Counter(), defaultdict(set), 0
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        key, part, off, value = line.rstrip("\n").split("\t", 3)
        n += 1
        got[key] += 1
        parts[key].add(part)
        if n % 997 == 1:  # spot-check values; keys are checked in full below
            assert json.loads(value)["customer_id"] == key, f"key {key!r} != value's customer"
assert n == total, f"{n} messages, expected {total} = sum of online + offline orders"
assert got == want, f"{sum(1 for k in want if got[k] != want[k])} customers with wrong counts"
assert all(len(p) == 1 for p in parts.values()), "a customer spread over partitions"
used = set().union(*parts.values())
assert len(used) == 3, f"partitions used: {sorted(used)} (topic has 3)"
print(f"flo: {n} messages for {len(want)} customers on partitions {sorted(used)}")
EOF
ok "flo: message count and per-customer keys match the file"

# 3. Nobody listening: a clear error and exit 69, not a hang.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
set +e
"$replay" -q --format jsonl --brokers "127.0.0.1:$port" --topic t "$small" 2>"$tmp/down.err"
rc=$?
set -e
[ "$rc" -eq 69 ] || { cat "$tmp/down.err" >&2; fail "unreachable brokers: exit $rc, expected 69"; }
grep -q 'no answer from the brokers' "$tmp/down.err" || fail "unreachable brokers: no clear message"
ok "unreachable brokers: exit 69"

# 4. The broker dies mid-replay (last: it takes the broker with it). Orders
#    still queued time out; the tool must say so and exit 1.
"$replay" -q --format flo --stdout "$flo" >"$tmp/flo.jsonl"
head -n 2000 "$tmp/flo.jsonl" >"$tmp/600.jsonl"  # 10 s at --rate 200
set +e
"$replay" --format jsonl --brokers "$bootstrap" --topic replay.dies --rate 200 \
    -X message.timeout.ms=3000 "$tmp/600.jsonl" 2>"$tmp/dies.err" &
pid=$!
for _ in $(seq 50); do
    [ "$(timeout 5 kcat -C -b "$bootstrap" -t replay.dies -e -q -o beginning 2>/dev/null | wc -l)" -gt 0 ] && break
    sleep 0.1
done
# SIGKILL, not a graceful stop: a loaded machine can take longer than the
# replay to shut Kafka down cleanly. broker.sh run still cleans up after it.
kill -KILL "$(sed -n 's/^pid=//p' "${RFM_KAFKA_DIR:?}/state")"
wait "$pid"
rc=$?
set -e
cat "$tmp/dies.err"
[ "$rc" -eq 1 ] || fail "broker died mid-replay: exit $rc, expected 1"
grep -Eq 'delivered [0-9]+, failed [1-9]' "$tmp/dies.err" || fail "no failures counted"
grep -q 'NOT delivered' "$tmp/dies.err" || fail "no NOT-delivered summary"
ok "broker died mid-replay: failures counted, exit 1"
