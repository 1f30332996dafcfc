#!/usr/bin/env bash
# rfmctl report --snapshot: the segment table and the R x F grid it prints for
# a snapshot equal what the snapshot's own rows say (rfmctl snapshot dump),
# recomputed here with awk: counts, means, and every grid cell.
#
# usage: tests/test_report_snapshot.sh RFMCTL   (the snapshot: a fuzz seed,
# tests/fuzz/corpus/snapshot/scored.snap, written by tests/fuzz/seed_snapshot.c)
set -euo pipefail
rfmctl=$1
here=$(cd "$(dirname "$0")/.." && pwd)
snap="$here/tests/fuzz/corpus/snapshot/scored.snap"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$rfmctl" snapshot dump "$snap" >"$tmp/dump.csv"
"$rfmctl" report --snapshot "$snap" >"$tmp/report.txt"

# Segment table from the dump: segment customers recency frequency monetary.
awk -F, 'NR > 1 { n[$8]++; r[$8] += $2; f[$8] += $3; m[$8] += $4 }
    END { for (s in n) printf "%s %d %.2f %.2f %.2f\n", s, n[s], r[s] / n[s], f[s] / n[s], m[s] / n[s] }' \
    "$tmp/dump.csv" | sort >"$tmp/want_table"
awk '/^segment +customers/ { t = 1; next } t && NF == 0 { exit }
    t { printf "%s %d %s %s %s\n", $1, $2, $4, $5, $6 }' "$tmp/report.txt" | sort >"$tmp/got_table"
# Grid from the dump: "F R count" for every cell, zeros included.
awk -F, 'NR > 1 { g[$6 " " $5]++ }
    END { for (f = 1; f <= 5; f++) for (r = 1; r <= 5; r++) printf "%d %d %d\n", f, r, g[f " " r] + 0 }' \
    "$tmp/dump.csv" | sort >"$tmp/want_grid"
awk '/^F=[1-5]/ { f = substr($1, 3); for (r = 1; r <= 5; r++) printf "%d %d %d\n", f, r, $(r + 1) }' \
    "$tmp/report.txt" | sort >"$tmp/got_grid"

status=0
cmp -s "$tmp/want_table" "$tmp/got_table" || { echo "segment table differs (want / got):"; diff "$tmp/want_table" "$tmp/got_table" || true; status=1; }
cmp -s "$tmp/want_grid" "$tmp/got_grid" || { echo "grid differs (want / got):"; diff "$tmp/want_grid" "$tmp/got_grid" || true; status=1; }
rows=$(($(wc -l <"$tmp/dump.csv") - 1))
[ "$(wc -l <"$tmp/want_grid")" -eq 25 ] || { echo "grid is not 5x5"; status=1; }
[ "$rows" -gt 0 ] || { echo "empty snapshot"; status=1; }
grep -q "^$rows customers" "$tmp/report.txt" || { echo "report does not say $rows customers"; status=1; }
[ $status -eq 0 ] && echo "report --snapshot: $rows customers, table and 25 grid cells equal the dump"
exit $status
