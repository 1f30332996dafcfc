#!/usr/bin/env bash
# Installs everything rfmd needs to build, test and benchmark, on Debian 12:
# Debian packages (chromium renders the HTML report in its test), the pinned
# pandas used by the reference scripts, and the Apache Kafka release the
# end-to-end tests run (from Maven Central).
# Safe to run any number of times: it only installs what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cmake ninja-build pkg-config git
      librdkafka-dev libyaml-dev libjansson-dev libcmocka-dev libxxhash-dev
      libmicrohttpd-dev libcurl4-openssl-dev libsystemd-dev zlib1g-dev
      kcat clang-format clang libclang-rt-14-dev
      python3 python3-venv maven openjdk-17-jdk-headless chromium)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A JDK (not only a JRE: a real-broker test runs a Java source file) the
# project did not install counts too (the image may ship its own).
if command -v java >/dev/null; then
    missing=("${missing[@]/openjdk-17-jdk-headless/}")
fi
if command -v mvn >/dev/null; then
    missing=("${missing[@]/maven/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pandas for the reference scripts and prometheus_client for the /metrics test:
# the interpreter's own if it has the pinned versions, else a private venv under
# the cache directory.
"$here/scripts/python.sh" -c 'import pandas, prometheus_client' >/dev/null

# Apache Kafka for the end-to-end tests and benchmarks.
if [ -x "$here/tests/kafka/broker.sh" ]; then
    "$here/tests/kafka/broker.sh" fetch >&2
fi
echo "install-deps: ok" >&2
