#!/usr/bin/env python3
"""rfm-replay without Kafka: `--stdout` output, options and exit codes.

The expected values are computed here from the input files, independently of
the C readers: the JSONL fixture's orders in file order, and for the FLO file
one order per purchase counted in its row, with the row's totals.

usage: test_replay_stdout.py RFM_REPLAY   (env RFM_SOURCE, RFM_SHARED)
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal

replay = sys.argv[1]
src = os.environ["RFM_SOURCE"]
shared = os.environ["RFM_SHARED"]
small = os.path.join(src, "tests", "kafka", "orders_small.jsonl")
flo = os.path.join(shared, "data", "flo_data_20k.csv")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def run(*args, stdin=None):
    return subprocess.run([replay, *args], input=stdin, capture_output=True, timeout=120)


# --- options and exit codes ---------------------------------------------------
p = run("--help")
check(p.returncode == 0 and b"usage: rfm-replay" in p.stdout, "--help exits 0 with usage")
p = run("--version")
check(p.returncode == 0 and p.stdout.startswith(b"rfm-replay "), "--version")
for args, what in [
    ((), "no arguments"),
    (("--format", "xml", "--stdout", small), "unknown format"),
    (("--format", "jsonl", "--stdout"), "no file"),
    (("--format", "jsonl", small), "neither --brokers nor --stdout"),
    (("--format", "jsonl", "--brokers", "127.0.0.1:9", small), "--brokers without --topic"),
    (("--format", "jsonl", "--stdout", "-X", "linger.ms=5", small), "-X with --stdout"),
    (("--format", "jsonl", "--stdout", "--rate", "0", small), "--rate 0"),
    (("--format", "jsonl", "--stdout", "--rate", "fast", small), "--rate not a number"),
    (("--format", "jsonl", "--stdout", "--bogus", small), "unknown option"),
    (("--format", "jsonl", "-b", "127.0.0.1:9", "-t", "t", "-X", "no.such.prop=1", small),
     "unknown -X property"),
    (("--format", "jsonl", "-b", "127.0.0.1:9", "-t", "t", "-X", "linger.ms", small),
     "-X without '='"),
]:
    p = run(*args)
    check(p.returncode == 64 and p.stdout == b"" and p.stderr.startswith(b"rfm-replay: "),
          f"usage error exits 64 with a message: {what} ({p.returncode})")
p = run("--format", "jsonl", "--stdout", small, "/nonexistent/orders.jsonl")
check(p.returncode == 1 and p.stdout == b"" and b"/nonexistent/orders.jsonl" in p.stderr,
      "a missing file fails before anything is written")

# --- JSONL in, JSONL out ------------------------------------------------------
expected = []
with open(small, encoding="utf-8") as f:
    for line in f:
        try:
            expected.append(json.loads(line))
        except ValueError:
            pass
p = run("--format", "jsonl", "--stdout", small)
check(p.returncode == 0, "jsonl replay exits 0")
lines = p.stdout.decode("utf-8").splitlines()
got = [json.loads(l) for l in lines]
check(len(got) == len(expected) == 10, f"10 orders out of the fixture (got {len(got)})")
check([g["order_id"] for g in got] == [e["order_id"] for e in expected], "file order kept")
check([g["customer_id"] for g in got] == [e["customer_id"] for e in expected],
      "customer ids kept, including non-ASCII and commas")
check(all(Decimal(str(g["amount"])) == Decimal(str(e["amount"])) for g, e in zip(got, expected)),
      "amounts kept exactly (refund stays negative)")
by_id = {g["order_id"]: g for g in got}
check(by_id["o-3"]["ts"] == "2021-02-27T00:00:00Z", "epoch-ms ts becomes RFC 3339 UTC")
check(by_id["o-4"]["ts"] == "2021-03-01T09:30:00Z", "+03:00 offset normalized to UTC")
check(by_id["o-1"].get("categories") == ["KADIN"] and by_id["o-1"].get("channel") == "Android App",
      "channel and categories carried")
check(b"orders_small.jsonl:8" in p.stderr, "the bad line is reported with file:line")
check(b"\r" not in p.stderr, "no progress line when stderr is not a terminal")

p2 = run("--format", "jsonl", "--stdout", "-", stdin=p.stdout)
check(p2.returncode == 0 and p2.stdout == p.stdout, "own output replays to itself (stdin '-')")

# --- FLO: one order per purchase in the row, amounts summing to its totals ---
rows = {}
with open(flo, newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        n = int(float(r["order_num_total_ever_online"])) + int(float(r["order_num_total_ever_offline"]))
        cents = round((Decimal(r["customer_value_total_ever_online"]) +
                       Decimal(r["customer_value_total_ever_offline"])) * 100)
        rows[r["master_id"]] = (n, cents, r["first_order_date"], r["last_order_date"],
                                int(float(r["order_num_total_ever_offline"])))
total = sum(v[0] for v in rows.values())
t0 = time.monotonic()
p = run("--format", "flo", "--stdout", flo)
elapsed = time.monotonic() - t0
check(p.returncode == 0, f"flo replay exits 0 ({elapsed:.2f} s)")
count = defaultdict(int)
cents = defaultdict(int)
first, last, offline = {}, {}, defaultdict(int)
n = 0
for line in p.stdout.splitlines():
    o = json.loads(line)
    c = o["customer_id"]
    n += 1
    count[c] += 1
    cents[c] += int(Decimal(str(o["amount"])) * 100)
    day = o["ts"][:10]
    first[c] = min(first.get(c, day), day)
    last[c] = max(last.get(c, day), day)
    offline[c] += o.get("channel") == "Offline"
check(n == total, f"FLO: {total} orders = sum of online + offline counts (got {n})")
check(set(count) == set(rows), f"FLO: every one of the {len(rows)} customers present")
bad = [c for c, v in rows.items() if count[c] != v[0]]
check(not bad, f"FLO: per-customer order counts match the rows ({len(bad)} differ)")
bad = [c for c, v in rows.items() if cents[c] != v[1]]
check(not bad, f"FLO: per-customer amounts sum exactly to the row's value ({len(bad)} differ)")
bad = [c for c, v in rows.items() if first.get(c) != v[2] or last.get(c) != v[3]]
check(not bad, f"FLO: first and last order dates match ({len(bad)} differ)")
bad = [c for c, v in rows.items() if offline[c] != v[4]]
check(not bad, f"FLO: offline orders carry channel Offline ({len(bad)} differ)")

# --- --rate: a lower bound cannot be flaky; the upper one is loose -----------
with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as tmp:
    tmp.write(b"\n".join(p.stdout.splitlines()[:300]) + b"\n")
    tmp.flush()
    t0 = time.monotonic()
    p = run("--format", "jsonl", "--stdout", "--rate", "600", tmp.name)
    elapsed = time.monotonic() - t0
    check(p.returncode == 0 and len(p.stdout.splitlines()) == 300, "--rate writes everything")
    check(0.45 <= elapsed < 5, f"--rate 600: 300 orders take ~0.5 s (took {elapsed:.2f} s)")

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
