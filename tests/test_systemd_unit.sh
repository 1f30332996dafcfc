#!/usr/bin/env bash
# The systemd units and sysusers file, checked with systemd's own tools:
#  - the settings rfmd relies on are there (Type=notify, watchdog, reload...);
#  - the template rfmd@.service is rfmd.service but for its instance lines
#    (Description=, ExecStart=, StateDirectory=, WorkingDirectory=; comments
#    aside), so the two cannot drift apart;
#  - `systemd-analyze verify` is clean (on a copy whose ExecStart points at
#    the built rfmd, since /usr/bin/rfmd need not exist here; man pages from
#    man/, so Documentation=man:rfmd(8) resolves), for the template as an
#    instance (rfmd@a.service) too;
#  - `systemd-analyze security --offline=true` rates rfmd.service 2.0 or
#    lower, and rfmd@a.service no worse than rfmd.service;
#  - systemd-sysusers accepts the sysusers.d file (dry run, scratch root).
# Exit 77 (skipped) without systemd-analyze.
#
# usage: test_systemd_unit.sh SOURCE_DIR RFMD
set -euo pipefail
src=$1
rfmd=$(realpath "$2")
unit=$src/systemd/rfmd.service
template=$src/systemd/rfmd@.service
sysusers=$src/systemd/rfmd.sysusers.conf
command -v systemd-analyze >/dev/null || {
    echo "SKIP: systemd-analyze not installed" >&2
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# 1. The contract of the unit (rfmd.8, the issue): exact lines.
for line in 'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30' 'TimeoutStopSec=15' \
    'ExecStart=/usr/bin/rfmd -c /etc/rfmd/rfmd.yaml' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'Restart=on-failure' 'User=rfmd' 'StateDirectory=rfmd' 'ConfigurationDirectory=rfmd'; do
    grep -qxF -- "$line" "$unit" || fail "$unit: no line '$line'"
done

# 1b. The template: its instance lines, and otherwise the same unit.
for line in 'ExecStart=/usr/bin/rfmd -c /etc/rfmd/%i.yaml' 'StateDirectory=rfmd/%i' \
    'WorkingDirectory=/var/lib/rfmd/%i' 'ConfigurationDirectory=rfmd'; do
    grep -qxF -- "$line" "$template" || fail "$template: no line '$line'"
done
settings() { grep -v -e '^#' -e '^$' "$1"; }
settings "$template" | sed -e 's#^\(Description=.*\) (instance %i)$#\1#' \
    -e 's#^ExecStart=/usr/bin/rfmd -c /etc/rfmd/%i.yaml$#ExecStart=/usr/bin/rfmd -c /etc/rfmd/rfmd.yaml#' \
    -e 's#^StateDirectory=rfmd/%i$#StateDirectory=rfmd#' \
    -e 's#^WorkingDirectory=/var/lib/rfmd/%i$#WorkingDirectory=/var/lib/rfmd#' >"$tmp/template.norm"
settings "$unit" >"$tmp/unit.norm"
if ! d=$(diff -u "$tmp/unit.norm" "$tmp/template.norm"); then
    fail "rfmd@.service differs from rfmd.service beyond its instance lines (keep them in step):
$d"
fi
[ "$(grep -c '%i' "$tmp/template.norm" || true)" = 0 ] || fail "rfmd@.service: %i on another line"

# 2. verify, on a copy that starts the binary just built.
mkdir -p "$tmp/unit" "$tmp/man/man1" "$tmp/man/man8"
sed "s#/usr/bin/rfmd#$rfmd#g" "$unit" >"$tmp/unit/rfmd.service"
grep -q "^ExecStart=$rfmd " "$tmp/unit/rfmd.service" || fail "ExecStart not rewritten"
cp "$src"/man/*.1 "$tmp/man/man1/"
cp "$src"/man/*.8 "$tmp/man/man8/"
man_opt=()
command -v man >/dev/null || man_opt=(--man=no)
if ! out=$(MANPATH=$tmp/man systemd-analyze verify "${man_opt[@]}" "$tmp/unit/rfmd.service" 2>&1); then
    fail "systemd-analyze verify: $out"
fi
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
# The template, as the instance rfmd@a (verify loads rfmd@.service for it).
sed "s#/usr/bin/rfmd#$rfmd#g" "$template" >"$tmp/unit/rfmd@.service"
grep -q "^ExecStart=$rfmd " "$tmp/unit/rfmd@.service" || fail "template ExecStart not rewritten"
ln -s "rfmd@.service" "$tmp/unit/rfmd@a.service"
if ! out=$(MANPATH=$tmp/man systemd-analyze verify "${man_opt[@]}" "$tmp/unit/rfmd@a.service" 2>&1); then
    fail "systemd-analyze verify rfmd@a.service: $out"
fi
[ -z "$out" ] || fail "systemd-analyze verify rfmd@a.service is not clean: $out"

# 3. security: overall exposure <= 2.0 (--threshold is in tenths).
if ! sec=$(systemd-analyze security --offline=true --threshold=20 "$tmp/unit/rfmd.service" 2>&1); then
    echo "$sec" >&2
    fail "systemd-analyze security: exposure above 2.0"
fi
exposure=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "no overall exposure level in: $sec"
awk -v e="$exposure" 'BEGIN { exit !(e + 0 <= 2.0) }' || fail "exposure $exposure > 2.0"
echo "exposure: $exposure"
printf '%s\n' "$sec" | grep '✗' || true
# The template's instance: no worse than the plain unit.
if ! isec=$(systemd-analyze security --offline=true "$tmp/unit/rfmd@a.service" 2>&1); then
    echo "$isec" >&2
    fail "systemd-analyze security rfmd@a.service failed"
fi
iexp=$(printf '%s\n' "$isec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$iexp" ] || fail "no overall exposure level for rfmd@a.service in: $isec"
awk -v a="$iexp" -v b="$exposure" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
    fail "rfmd@a.service exposure $iexp is worse than rfmd.service's $exposure"
echo "exposure rfmd@a: $iexp"

# 4. sysusers.d: creates user and group rfmd.
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$tmp/root"
    out=$(systemd-sysusers --root="$tmp/root" --dry-run "$sysusers" 2>&1) ||
        fail "systemd-sysusers: $out"
    grep -q "Creating user 'rfmd'" <<<"$out" || fail "sysusers creates no user rfmd: $out"
fi
echo "systemd unit: ok"
