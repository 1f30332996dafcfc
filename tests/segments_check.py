#!/usr/bin/env python3
"""segments_check.py — do the segment events rfmd published end on the
reference segment of every customer? Stdlib only. Two modes:

  check --reference REF.csv [--expect-customers N] [--label L] DUMP
      DUMP: a kcat dump of the segments topic, one event a line,
      "PARTITION<TAB>OFFSET<TAB>JSON" (kcat -f '%p\\t%o\\t%s\\n', read
      read_committed). REF.csv: a segment table (customer_id,...,segment,
      SPEC §6: what tests/ref/seed_rfm.py prints). The last event of each
      customer (highest offset; every customer's events must lie in one
      partition, the topic being keyed by customer) must carry REF's
      segment. Counted and printed with a few examples each: customers whose
      last event differs, customers of REF without any event, events of
      customers REF does not know, customers on several partitions, lines
      that do not parse; also the breakpoints versions the last events were
      scored with. Exit 1 on any, 0 when none (2: usage, unreadable file).

  covered --ends O0,O1,... [--topic T] [--timeout S] [--quiet-polls K]
          HOST:PORT...
      Wait until every instance's GET /breakpoints says, in its "round"
      object, that the breakpoints it applied were agreed over every input
      partition at the offsets ENDS (next-offset form: the topic's end
      offsets), all instances the same version, equal to the top-level
      "version" they apply; then until their rescore events are delivered:
      rfmd_pending_deliveries and rfmd_producer_queue_messages 0 and
      rfmd_events_published_total unchanged on every instance for K polls
      in a row (0.5 s apart, default 6). Exit 0 then; 1 after S seconds
      (default 120), printing each instance's "round". Instances of scope
      "local" ("round": {"scope": "local"}: no round, each computes its own)
      are waited for instead until every one's "version" went up twice (two
      rescores since: one after all it consumed), then for the delivery as
      above; exit 0. The same for a daemon whose /breakpoints has no "round"
      at all (before group breakpoints), but exit 3.
"""
import argparse
import csv
import http.client
import json
import sys
import time

EXAMPLES = 5


def read_reference(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        if "customer_id" not in (rows.fieldnames or []) or "segment" not in rows.fieldnames:
            raise ValueError(f"{path}: no customer_id and segment columns")
        return {r["customer_id"]: r["segment"] for r in rows}


def cmd_check(a):
    try:
        ref = read_reference(a.reference)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    problems = {}

    def bad(kind, example):
        problems.setdefault(kind, []).append(example)

    if a.expect_customers is not None and len(ref) != a.expect_customers:
        bad("reference customers", f"{len(ref)}, expected {a.expect_customers}")

    last = {}     # customer -> (offset, event)
    parts = {}    # customer -> set of partitions
    events = 0
    try:
        f = open(a.dump, encoding="utf-8")
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            try:
                p, o, body = line.split("\t", 2)
                p, o = int(p), int(o)
                ev = json.loads(body)
                cid = ev["customer_id"]
                if not isinstance(ev["segment"], str):
                    raise ValueError("segment is not a string")
            except (ValueError, KeyError, TypeError) as e:
                bad("lines that do not parse", f"line {n}: {e}: {line[:120]}")
                continue
            events += 1
            parts.setdefault(cid, set()).add(p)
            if cid not in last or o > last[cid][0]:
                last[cid] = (o, ev)

    for cid, ps in parts.items():
        if len(ps) > 1:
            bad("customers with events on several partitions", f"{cid}: {sorted(ps)}")
    versions = {}
    causes = {}
    for cid, want in ref.items():
        if cid not in last:
            bad("reference customers without any event", cid)
            continue
        _, ev = last[cid]
        v = ev.get("breakpoints_version")
        versions[v] = versions.get(v, 0) + 1
        if ev["segment"] != want:
            causes[ev.get("cause")] = causes.get(ev.get("cause"), 0) + 1
            bad("customers whose last event differs from the reference",
                f"{cid}: {ev['segment']} (r{ev.get('r')} f{ev.get('f')} m{ev.get('m')}, "
                f"cause {ev.get('cause')}, breakpoints_version {v}, as_of {ev.get('as_of')}), "
                f"reference {want}")
    for cid in last:
        if cid not in ref:
            bad("events of customers the reference does not know", cid)

    label = f"{a.label}: " if a.label else ""
    print(f"{label}{events} events, {len(last)} customers with events, "
          f"{len(ref)} in the reference")
    print(f"{label}  breakpoints_version of the last events: "
          + ", ".join(f"{k}: {n}" for k, n in sorted(versions.items(), key=lambda x: str(x[0]))))
    if not problems:
        print(f"{label}ok: the last event of every one of the {len(ref)} customers carries "
              "the reference segment")
        return 0
    for kind, lst in problems.items():
        extra = ""
        if kind.startswith("customers whose last event"):
            extra = " (by cause: " + ", ".join(f"{k} {n}" for k, n in causes.items()) + ")"
        print(f"{label}FAIL: {kind}: {len(lst)}{extra}")
        for e in lst[:EXAMPLES]:
            print(f"{label}    {e}")
    return 1


def get(addr, path):
    host, _, port = addr.rpartition(":")
    c = http.client.HTTPConnection(host or "127.0.0.1", int(port), timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def metric(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except ValueError:
                pass
    return total


def covered_once(addrs, ends):
    """(ok, why, rounds): ok when every instance applied one round over ENDS."""
    rounds, versions = {}, set()
    for addr in addrs:
        status, body = get(addr, "/breakpoints")
        if status != 200:
            return False, f"{addr}: /breakpoints {status}", rounds
        bp = json.loads(body)
        rnd = bp.get("round")
        if not isinstance(rnd, dict):
            return None, f"{addr}: /breakpoints has no \"round\" object", rounds
        rounds[addr] = rnd
        if rnd.get("scope") == "local":
            return "local", f"{addr}: breakpoints of scope local", rounds
        if rnd.get("offsets") != ends:
            return False, f"{addr}: round offsets {rnd.get('offsets')}, want {ends}", rounds
        if rnd.get("version") != bp.get("version"):
            return False, (f"{addr}: round version {rnd.get('version')}, applied "
                           f"{bp.get('version')}"), rounds
        versions.add(rnd.get("version"))
    if len(versions) != 1:
        return False, f"instances on different round versions {sorted(versions)}", rounds
    return True, "", rounds


def cmd_covered(a):
    ends = [int(x) for x in a.ends.split(",")]
    t0 = time.monotonic()
    why, rounds = "", {}
    try:
        while True:
            ok, why, rounds = covered_once(a.instances, ends)
            if ok is None:
                print(f"{why}: waiting for two rescores on every instance instead")
                return no_round(a, t0, 3)
            if ok == "local":
                print(f"{why} (no round to wait for): waiting for two rescores instead")
                return no_round(a, t0, 0)
            if ok:
                break
            if time.monotonic() - t0 > a.timeout:
                print(f"FAIL: no round over the end offsets within {a.timeout:g} s: {why}")
                for addr, rnd in rounds.items():
                    print(f"  {addr} round: {json.dumps(rnd)}")
                return 1
            time.sleep(0.5)
        rnd = next(iter(rounds.values()))
        print(f"covered after {time.monotonic() - t0:.1f} s: round version {rnd.get('version')} attempt "
              f"{rnd.get('attempt')}, {rnd.get('members')} members, {rnd.get('requests')} "
              f"requests, {rnd.get('bytes')} bytes, {rnd.get('duration_ms')} ms; offsets {ends}")
        return delivered(a, t0, 0)
    except (OSError, http.client.HTTPException, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def version_of(addr):
    status, body = get(addr, "/breakpoints")
    return json.loads(body).get("version", 0) if status == 200 else 0


def no_round(a, t0, rc):
    """No round to wait for: two rescores everywhere, then delivered; rc."""
    first = {addr: version_of(addr) for addr in a.instances}
    while True:
        now = {addr: version_of(addr) for addr in a.instances}
        if all(now[x] >= first[x] + 2 for x in a.instances):
            break
        if time.monotonic() - t0 > a.timeout:
            print(f"FAIL: no two rescores within {a.timeout:g} s: versions {first} -> {now}")
            return 1
        time.sleep(0.5)
    print(f"two rescores on every instance: versions {now}")
    return delivered(a, t0, rc)


def delivered(a, t0, rc):
    """Wait until every instance has delivered all it published; rc then."""
    t1 = time.monotonic()
    quiet, before, now = 0, None, []
    while quiet < a.quiet_polls:
        now = []
        for addr in a.instances:
            _, text = get(addr, "/metrics")
            now.append((metric(text, "rfmd_pending_deliveries"),
                        metric(text, "rfmd_producer_queue_messages"),
                        metric(text, "rfmd_events_published_total")))
        idle = all(p == 0 and q == 0 for p, q, _ in now)
        quiet = quiet + 1 if idle and now == before else 0
        before = now
        if time.monotonic() - t0 > a.timeout:
            print(f"FAIL: events not delivered within {a.timeout:g} s: {now}")
            return 1
        time.sleep(0.5)
    print(f"delivered after {time.monotonic() - t1:.1f} s more: "
          f"{int(sum(e for _, _, e in now))} events published in all")
    return rc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="last event per customer against a reference table")
    c.add_argument("--reference", required=True)
    c.add_argument("--expect-customers", type=int)
    c.add_argument("--label", default="")
    c.add_argument("dump")
    w = sub.add_parser("covered", help="wait for a round over the end offsets, delivered")
    w.add_argument("--ends", required=True)
    w.add_argument("--timeout", type=float, default=120)
    w.add_argument("--quiet-polls", type=int, default=6)
    w.add_argument("instances", nargs="+")
    a = p.parse_args()
    return {"check": cmd_check, "covered": cmd_covered}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
