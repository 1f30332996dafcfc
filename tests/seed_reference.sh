#!/usr/bin/env bash
# The seed-reproduction check (SPEC §5):
#  1. `rfmctl score` on the FLO file prints exactly tests/data/flo_golden.csv;
#  2. the golden file is what tests/ref/seed_rfm.py (pandas, the seed
#     notebook's method) prints today, so it cannot silently go stale;
#  3. the same orders shuffled into another arrival order give the same table;
#  4. on the full Online Retail file (real data, refunds and all), rfmctl and
#     the pandas reference print the same table too.
#
# usage: seed_reference.sh RFMCTL [RFM_REPLAY]
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

py="$src/scripts/python.sh"
"$py" "$src/tests/ref/seed_rfm.py" --format flo "$flo" >"$tmp/pandas.csv"
cmp -s "$golden" "$tmp/pandas.csv" || fail "tests/ref/seed_rfm.py no longer prints the golden file"
echo "ok: the pandas reference script still prints the golden file"

retail=$shared/data/online_retail_2010_2011.csv.gz
"$rfmctl" score --format retail "$retail" >"$tmp/retail.csv"
"$py" "$src/tests/ref/seed_rfm.py" --format retail "$retail" >"$tmp/retail_pandas.csv"
rows=$(($(wc -l <"$tmp/retail.csv") - 1))
[ "$rows" -eq 4338 ] || fail "Online Retail: expected 4338 scored customers, got $rows"
if ! cmp -s "$tmp/retail_pandas.csv" "$tmp/retail.csv"; then
    diff "$tmp/retail_pandas.csv" "$tmp/retail.csv" | head -10 >&2
    fail "Online Retail: rfmctl differs from the pandas reference"
fi
echo "ok: Online Retail 2010-2011, 4338 customers, same table as the pandas reference"

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
