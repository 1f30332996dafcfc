#!/usr/bin/env bash
# `rfmctl audience` against the pandas reference (tests/ref/seed_audience.py)
# for the seeds' two FLO campaigns: same ids, same order, byte for byte, and
# never an empty list (an empty pair would agree for the wrong reason).
# The discount campaign is checked twice: by category name (rfmctl's meaning)
# and as the notebook's substring match, which AKTIFCOCUK in the list
# reproduces.
#
# usage: test_audience.sh RFMCTL
set -euo pipefail
rfmctl=$1
src=${RFM_SOURCE:?RFM_SOURCE not set}
shared=${RFM_SHARED:?RFM_SHARED not set}
flo=$shared/data/flo_data_20k.csv
py=$src/scripts/python.sh
ref=$src/tests/ref/seed_audience.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# NAME "REFERENCE ARGS" RFMCTL ARGS...
check() {
    local name=$1 refargs=$2
    shift 2
    # shellcheck disable=SC2086 # refargs is a word list
    "$py" "$ref" $refargs "$flo" >"$tmp/$name.ref"
    "$rfmctl" audience "$@" "$flo" >"$tmp/$name.csv" 2>"$tmp/$name.err" ||
        fail "$name: rfmctl exited $?: $(cat "$tmp/$name.err")"
    [ "$(head -n 1 "$tmp/$name.csv")" = master_id ] || fail "$name: no master_id header"
    local n=$(($(wc -l <"$tmp/$name.csv") - 1))
    [ "$n" -gt 0 ] || fail "$name: empty audience"
    tail -n +2 "$tmp/$name.csv" | LC_ALL=C sort -c -u || fail "$name: ids not in byte order"
    if ! cmp -s "$tmp/$name.ref" "$tmp/$name.csv"; then
        diff "$tmp/$name.ref" "$tmp/$name.csv" | head -10 >&2
        fail "$name: rfmctl ($n) differs from the pandas reference ($(($(wc -l <"$tmp/$name.ref") - 1)))"
    fi
    echo "ok: $name: $n customers, same as the pandas reference"
}

check women "--campaign women" \
    --segments champions,loyal_customers --categories KADIN --min-mean-order-value 250
check discount "--campaign discount --exact-categories" \
    --segments at_risk,cant_loose,new_customers --categories ERKEK,COCUK
check discount_notebook "--campaign discount" \
    --segments at_risk,cant_loose,new_customers --categories ERKEK,COCUK,AKTIFCOCUK

# The threshold must bite: without it the women's audience is larger.
all=$("$rfmctl" audience --segments champions,loyal_customers --categories KADIN "$flo" 2>/dev/null | wc -l)
[ "$all" -gt "$(wc -l <"$tmp/women.csv")" ] || fail "--min-mean-order-value removed nobody"

# Bad input is a usage error (64) with a message, never an empty list.
for bad in "--segments champion" "--segments champions,,at_risk" "--categories ," \
    "--min-mean-order-value -1" "--min-mean-order-value 25x0"; do
    set +e
    # shellcheck disable=SC2086
    "$rfmctl" audience $bad "$flo" >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    set -e
    [ "$rc" -eq 64 ] && [ -s "$tmp/bad.err" ] && [ ! -s "$tmp/bad.out" ] ||
        fail "audience $bad: expected exit 64 with a message, got $rc"
done
echo "ok: bad --segments, --categories and --min-mean-order-value are usage errors"
