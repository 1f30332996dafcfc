#!/usr/bin/env bash
# `cpack -G DEB` builds the rfmd package (into a scratch directory, not the
# build tree) with the layout, dependencies and maintainer scripts a Debian
# system expects. Exit 77 (skipped) without dpkg-deb.
#
# usage: test_install_deb.sh CPACK BUILD_DIR
set -euo pipefail
cpack=$1
build=$2
command -v dpkg-deb >/dev/null || {
    echo "SKIP: dpkg-deb not installed" >&2
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

(cd "$build" && "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg") \
    >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/pkg/rfmd_*.deb)
[ -f "$deb" ] || fail "no .deb"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$tmp/files"
for f in /usr/bin/rfmd /usr/bin/rfmctl /usr/bin/rfm-replay /etc/rfmd/rfmd.yaml \
    /usr/lib/systemd/system/rfmd.service /usr/lib/systemd/system/rfmd@.service \
    /usr/lib/sysusers.d/rfmd.conf \
    /usr/share/man/man8/rfmd.8.gz /usr/share/man/man1/rfmctl.1.gz \
    /usr/share/man/man1/rfm-replay.1.gz /usr/share/doc/rfmd/contract.md; do
    grep -qxF "$f" "$tmp/files" || { cat "$tmp/files" >&2; fail "$f not in the package"; }
done
! grep -q '^/usr/etc' "$tmp/files" || fail "configuration under /usr/etc"

[ "$(dpkg-deb -f "$deb" Package)" = rfmd ] || fail "package name"
deps=$(dpkg-deb -f "$deb" Depends)
for d in librdkafka1 libyaml-0-2 libjansson4 libmicrohttpd12 libsystemd0 libxxhash0 zlib1g; do
    grep -qw -- "$d" <<<"$deps" || fail "Depends lacks $d: $deps"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/rfmd/rfmd.yaml "$tmp/control/conffiles" || fail "rfmd.yaml is not a conffile"
for s in postinst postrm; do
    [ -x "$tmp/control/$s" ] || fail "no executable $s"
    sh -n "$tmp/control/$s" || fail "$s: syntax"
done
echo "deb: ok ($(basename "$deb"))"
