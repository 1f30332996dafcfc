#!/usr/bin/env bash
# The seed-reproduction check (SPEC §5): `rfmctl score` on the FLO file must
# print exactly tests/data/flo_golden.csv, which tests/ref/seed_rfm.py makes
# with pandas the way the seed notebook does. Then the same orders, shuffled
# into a different arrival order, must give the same table.
#
# usage: flo_golden.sh RFMCTL [RFM_REPLAY]
set -euo pipefail
rfmctl=$1
replay=${2:-}
src=${RFM_SOURCE:?RFM_SOURCE not set}
shared=${RFM_SHARED:?RFM_SHARED not set}
flo=$shared/data/flo_data_20k.csv
golden=$src/tests/data/flo_golden.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

"$rfmctl" score --format flo "$flo" >"$tmp/score.csv"
rows=$(($(wc -l <"$tmp/score.csv") - 1))
[ "$rows" -eq 19945 ] || fail "expected 19945 customers, got $rows"
if ! cmp -s "$golden" "$tmp/score.csv"; then
    diff "$golden" "$tmp/score.csv" | head -20 >&2
    fail "rfmctl score differs from the golden file in $(diff "$golden" "$tmp/score.csv" | grep -c '^>') rows"
fi
echo "ok: 19945 customers match the seed golden file"

if [ -n "$replay" ] && [ -x "$replay" ]; then
    "$replay" --format flo --stdout "$flo" >"$tmp/orders.jsonl"
    # A fixed-seed shuffle: arrival order must not matter.
    python3 -c 'import random,sys; l=open(sys.argv[1]).readlines(); random.Random(7).shuffle(l); sys.stdout.writelines(l)' \
        "$tmp/orders.jsonl" >"$tmp/shuffled.jsonl"
    cmp -s "$tmp/orders.jsonl" "$tmp/shuffled.jsonl" && fail "shuffle left the file unchanged"
    "$rfmctl" score --format jsonl "$tmp/shuffled.jsonl" >"$tmp/shuffled.csv"
    cmp -s "$golden" "$tmp/shuffled.csv" || fail "shuffled JSONL replay differs from the golden file"
    echo "ok: shuffled JSONL of the same orders gives the same table"
fi
