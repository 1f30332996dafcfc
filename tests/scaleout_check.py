#!/usr/bin/env python3
"""scaleout_check.py — do several rfmd in one consumer group hold every
customer exactly once, with the state a single rfmd has?

Three modes, stdlib only, over rfmd's HTTP interface (docs/contract.md §12):

  reference --ids FILE --out REF.json HOST:PORT
      Ask one rfmd (a single instance that consumed the same input in a group
      of its own) for every customer id of FILE and write what it holds:
      {"customers": {id: {"frequency": F, "monetary_cents": C,
      "first_order": "...", "last_order": "..."}}, "frequency_total": N}.
      Every id must answer 200. FILE is a CSV with a header (column
      customer_id, else master_id, else the first) or one id a line.

  check --reference REF.json [--expect-customers N] [--expect-frequency N]
        HOST:PORT...
      Ask every instance for every customer of REF and check:
        - each customer is held (200) by exactly one instance — a 404 of any
          kind means "not held here";
        - every copy held has REF's frequency, monetary (in cents),
          first_order and last_order;
        - the frequencies of all copies held add up to REF's total;
        - REF itself has the expected customers and total frequency, when
          given (so a short reference cannot pass everything).
      Prints the counts of every kind of violation with a few examples and
      exits 1 on any (0 when none, 2 on a usage or transport error).

  settled --partitions N [--topic orders] [--timeout S] [--polls K]
          HOST:PORT...
      Wait until the instances together own each of the N input partitions
      exactly once, every one "running" with lag 0 and caught_up, for K
      consecutive polls (0.5 s apart; default 2), each instance owning at
      least --min-each (default 1: no member waits for its share). Exit 0
      then; after S seconds (default 120) print every instance's
      GET /partitions and exit 1.

The verdict uses only the status and the four state fields. The "partition"
field of the new daemon's answers, its 404 bodies ("owned") and each
instance's GET /partitions and /healthz are printed as diagnostics only, so
the checker judges a daemon without them as well.

Speed: the customers are asked over HTTP/1.1 keep-alive connections,
pipelined (64 requests in flight), two per instance, all instances at once;
a connection the server closes is reopened and the unanswered requests sent
again. 20,000 customers x 4 instances take about 4 s (http.client would
spend ~0.2 ms of CPU per request: 20 s). The few other requests use
http.client.
"""
import argparse
import concurrent.futures
import csv
import http.client
import json
import socket
import sys
import time
import urllib.parse

FIELDS = ("frequency", "monetary_cents", "first_order", "last_order")
EXAMPLES = 5


class Instance:
    """One rfmd's HTTP interface over a persistent connection."""

    def __init__(self, addr):
        self.addr = addr
        host, _, port = addr.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)
        self.conn = None

    def get(self, path):
        """(status, parsed JSON body or None) of GET path."""
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                try:
                    return r.status, json.loads(body) if body else None
                except ValueError:
                    return r.status, None
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def customers(self, ids, window=64):
        """{id: (status, body)} of GET /customers/{id} for every id: HTTP/1.1
        pipelined on a raw socket, `window` requests in flight (http.client
        spends ~0.2 ms of CPU a request; this a fraction of it). A connection
        closed under it is reopened and the unanswered requests sent again."""
        out, todo = {}, list(ids)
        host = f"{self.host}:{self.port}".encode()
        fails = 0
        while todo:
            try:
                with socket.create_connection((self.host, self.port), timeout=20) as s, \
                        s.makefile("rb") as rd:
                    while todo:
                        batch = todo[:window]
                        s.sendall(b"".join(
                            b"GET /customers/" + urllib.parse.quote(c, safe="").encode()
                            + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n" for c in batch))
                        closed = False
                        for c in batch:
                            status, body, closed = read_response(rd)
                            out[c] = status, body
                            if closed:
                                break
                        todo = [c for c in todo if c not in out]
                        if closed:
                            break  # the server closes: go on over a new connection
            except (OSError, ValueError):
                fails += 1
                if fails > 3:
                    raise
                todo = [c for c in todo if c not in out]
        return out


def read_response(rd):
    """(status, parsed JSON body or None, connection closes) of one response."""
    line = rd.readline()
    if not line:
        raise ConnectionError("connection closed")
    status = int(line.split()[1])
    length, close = 0, False
    while True:
        h = rd.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise ConnectionError("connection closed in the headers")
        name, _, value = h.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    body = rd.read(length) if length else b""
    if len(body) != length:
        raise ConnectionError("connection closed in a body")
    try:
        return status, json.loads(body) if body else None, close
    except ValueError:
        return status, None, close


def state_of(body):
    """The four compared fields of a /customers/{id} body."""
    m = body.get("monetary")
    return {
        "frequency": body.get("frequency"),
        "monetary_cents": None if m is None else round(float(m) * 100),
        "first_order": body.get("first_order"),
        "last_order": body.get("last_order"),
    }


def read_ids(path):
    with open(path, newline="") as f:
        first = f.readline()
        f.seek(0)
        if "," not in first:
            return [line.strip() for line in f if line.strip()]
        rows = csv.DictReader(f)
        cols = rows.fieldnames or []
        col = next((c for c in ("customer_id", "master_id") if c in cols), cols[0])
        return [r[col] for r in rows if r[col]]


def cmd_reference(a):
    inst = Instance(a.instance)
    ids = list(dict.fromkeys(read_ids(a.ids)))
    out, missing = {}, []
    answers = inst.customers(ids)
    for cid in ids:
        status, body = answers[cid]
        if status != 200 or not isinstance(body, dict):
            missing.append((cid, status))
            continue
        out[cid] = state_of(body)
    total = sum(c["frequency"] for c in out.values())
    print(f"reference from {a.instance}: {len(out)} of {len(ids)} customers, "
          f"frequency total {total}")
    if missing:
        print(f"FAIL: {len(missing)} customers not held by the reference instance, e.g. "
              + ", ".join(f"{c} ({s})" for c, s in missing[:EXAMPLES]))
        return 1
    with open(a.out, "w") as f:
        json.dump({"customers": out, "frequency_total": total}, f)
    return 0


def fetch_all(addrs, ids, connections):
    """{addr: {id: (status, body)}}: every id on every instance, over
    `connections` keep-alive connections per instance, all in parallel (the
    time goes into round trips, not into Python)."""
    jobs = [(addr, ids[k::connections]) for addr in addrs for k in range(connections)]

    def run(job):
        addr, part = job
        return addr, Instance(addr).customers(part)

    out = {addr: {} for addr in addrs}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        for addr, got in ex.map(run, jobs):
            out[addr].update(got)
    return out


def diagnostics(insts):
    """Each instance's /healthz customers and owned partitions, as printed lines."""
    lines = []
    for i in insts:
        try:
            _, hz = i.get("/healthz")
            _, pt = i.get("/partitions")
        except (OSError, http.client.HTTPException) as e:
            lines.append(f"  {i.addr}: unreachable ({e})")
            continue
        owned = []
        for p in (pt or {}).get("assignment", []):
            owned.append(f"{p.get('partition')}:{p.get('state')}/lag={p.get('lag')}")
        lines.append(f"  {i.addr}: healthz customers={(hz or {}).get('customers')}, "
                     f"partitions [{' '.join(owned)}]")
    return lines


def cmd_check(a):
    t0 = time.monotonic()
    with open(a.reference) as f:
        ref = json.load(f)
    want = ref["customers"]
    insts = [Instance(x) for x in a.instances]
    problems = {}

    def bad(kind, example):
        lst = problems.setdefault(kind, [])
        lst.append(example)

    if a.expect_customers is not None and len(want) != a.expect_customers:
        bad("reference customers", f"{len(want)}, expected {a.expect_customers}")
    ref_total = sum(c["frequency"] for c in want.values())
    if a.expect_frequency is not None and ref_total != a.expect_frequency:
        bad("reference frequency total", f"{ref_total}, expected {a.expect_frequency}")

    held_total = 0       # 200 answers, all instances
    freq_total = 0       # their frequencies
    by_count = {}        # how many instances hold a customer -> customers
    per_inst = {i.addr: 0 for i in insts}
    partition_of = {}    # customer -> "partition" field, when any instance gave one
    answers = fetch_all(a.instances, list(want), a.connections)
    for cid, exp in want.items():
        holders = []
        for i in insts:
            status, body = answers[i.addr][cid]
            if isinstance(body, dict) and "partition" in body:
                partition_of[cid] = body["partition"]
            if status == 200 and isinstance(body, dict):
                holders.append((i.addr, state_of(body)))
            elif status != 404:
                bad("unexpected status", f"{cid} on {i.addr}: {status} {body}")
        by_count[len(holders)] = by_count.get(len(holders), 0) + 1
        held_total += len(holders)
        for addr, got in holders:
            per_inst[addr] += 1
            freq_total += got["frequency"] or 0
            diff = [k for k in FIELDS if got[k] != exp[k]]
            if diff:
                bad("copies differing from the reference",
                    f"{cid} on {addr} (partition {partition_of.get(cid, '?')}): "
                    + ", ".join(f"{k} {got[k]!r} != {exp[k]!r}" for k in diff))
        if not holders:
            bad("customers held by no instance", f"{cid} (partition {partition_of.get(cid, '?')})")
        elif len(holders) > 1:
            bad("customers held by more than one instance",
                f"{cid} (partition {partition_of.get(cid, '?')}) on "
                + ", ".join(addr for addr, _ in holders))
    if freq_total != ref_total:
        bad("frequency total", f"{freq_total} over all copies held, reference {ref_total}")

    print(f"{len(want)} reference customers (frequency total {ref_total}); "
          f"{held_total} copies held over {len(insts)} instances, frequency total {freq_total} "
          f"({len(want) * len(insts)} requests in {time.monotonic() - t0:.1f} s)")
    print("  held by k instances: "
          + ", ".join(f"k={k}: {n}" for k, n in sorted(by_count.items())))
    print("  held per instance: " + ", ".join(f"{k}={v}" for k, v in per_inst.items()))
    for line in diagnostics(insts):
        print(line)
    if not problems:
        print("ok: every customer held by exactly one instance, all equal to the reference")
        return 0
    for kind, lst in problems.items():
        print(f"FAIL: {kind}: {len(lst)}")
        for e in lst[:EXAMPLES]:
            print(f"    {e}")
    return 1


def settled_once(insts, topic, nparts, min_each):
    """(True, "", raw) when settled now, else (False, why, raw); raw: the
    /partitions answers."""
    owners, raw = {}, {}
    for i in insts:
        try:
            status, pt = i.get("/partitions")
        except (OSError, http.client.HTTPException) as e:
            raw[i.addr] = f"unreachable: {e}"
            return False, f"{i.addr} unreachable", raw
        raw[i.addr] = pt
        if status != 200 or not isinstance(pt, dict):
            return False, f"{i.addr}: /partitions {status}", raw
        mine = [p for p in pt.get("assignment", []) if p.get("topic") == topic]
        if len(mine) < min_each:  # a member not yet given its share: a rebalance to come
            return False, f"{i.addr} owns {len(mine)} partitions", raw
        for p in pt.get("assignment", []):
            if p.get("topic") != topic:
                continue
            owners.setdefault(p.get("partition"), []).append(i.addr)
            if p.get("state") != "running" or p.get("lag") != 0 or p.get("caught_up") is not True:
                return False, (f"{i.addr} partition {p.get('partition')}: state "
                               f"{p.get('state')}, lag {p.get('lag')}, "
                               f"caught_up {p.get('caught_up')}"), raw
    for n in range(nparts):
        if len(owners.get(n, [])) != 1:
            return False, f"partition {n} owned by {owners.get(n, [])}", raw
    extra = sorted(set(owners) - set(range(nparts)), key=str)
    if extra:
        return False, f"unexpected partitions {extra}", raw
    return True, "", raw


def cmd_settled(a):
    insts = [Instance(x) for x in a.instances]
    t0 = time.monotonic()
    in_a_row, why, raw = 0, "", {}
    while True:
        ok, why, raw = settled_once(insts, a.topic, a.partitions, a.min_each)
        in_a_row = in_a_row + 1 if ok else 0
        if in_a_row >= a.polls:
            print(f"settled after {time.monotonic() - t0:.1f} s: {a.partitions} partitions "
                  f"over {len(insts)} instances")
            return 0
        if time.monotonic() - t0 > a.timeout:
            break
        time.sleep(0.5)
    print(f"FAIL: not settled within {a.timeout:g} s: {why}")
    for addr, pt in raw.items():
        print(f"  {addr} /partitions: {json.dumps(pt)}")
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("reference", help="write the reference from one instance")
    r.add_argument("--ids", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("instance")
    c = sub.add_parser("check", help="check the instances against the reference")
    c.add_argument("--reference", required=True)
    c.add_argument("--expect-customers", type=int)
    c.add_argument("--expect-frequency", type=int)
    c.add_argument("--connections", type=int, default=2,
                   help="keep-alive connections per instance (default 2)")
    c.add_argument("instances", nargs="+")
    w = sub.add_parser("settled", help="wait until the group has settled")
    w.add_argument("--partitions", type=int, required=True)
    w.add_argument("--topic", default="orders")
    w.add_argument("--timeout", type=float, default=120)
    w.add_argument("--polls", type=int, default=2)
    w.add_argument("--min-each", type=int, default=1,
                   help="partitions each instance must own (default 1)")
    w.add_argument("instances", nargs="+")
    a = p.parse_args()
    run = {"reference": cmd_reference, "check": cmd_check, "settled": cmd_settled}[a.cmd]
    try:
        return run(a)
    except (OSError, http.client.HTTPException) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
