#!/usr/bin/env python3
"""The HTML report as a browser renders it (headless Chromium).

usage: scripts/python.sh test_report_html.py RFMCTL   (env RFM_SOURCE, RFM_SHARED, RFM_BIN)

From the DOM Chromium builds: exactly one cell per (R, F) pair, each named
with the segment SPEC §3's map gives its RF code, its count equal to the text
report's grid and to an independent pandas count (tests/ref/seed_rfm.py), all
adding up to the 19,945 FLO customers; the segment table agrees too. The page
must be self-contained. A screenshot of it is left in <build>/artifacts.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

sys.path.insert(0, os.path.join(os.environ["RFM_SOURCE"], "tests", "ref"))
import seed_rfm  # noqa: E402

CUSTOMERS = 19945
failures = 0


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what)
    failures += not ok


def seed_segment(rf):
    for pattern, name in seed_rfm.SEG_MAP.items():
        if re.fullmatch(pattern, rf):
            return name
    return seed_rfm.UNCLASSIFIED


class Dom(HTMLParser):
    """Grid cells (with the number shown in them) and segment table rows."""

    def __init__(self):
        super().__init__()
        self.cells, self.rows, self.cell, self.in_count = [], [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "cell" in (a.get("class") or "").split():
            self.cell = dict(a, shown="")
            self.cells.append(self.cell)
        elif tag == "span" and self.cell is not None and a.get("class") == "n":
            self.in_count = True
        elif tag == "tr" and "data-segment" in a:
            self.rows.append(a)

    def handle_endtag(self, tag):
        if tag == "span":
            self.in_count = False
        elif tag == "td":
            self.cell = None

    def handle_data(self, data):
        if self.in_count:
            self.cell["shown"] += data


def chromium(args, profile):
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not exe:
        sys.exit("FAIL: chromium not found (scripts/install-deps.sh installs it)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        sys.exit(f"FAIL: chromium exited {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout


def text_grid(text):
    """{(r, f): count} from the text report's grid (rows F=5..1, columns R=1..)."""
    lines = text.splitlines()
    head = next(i for i, l in enumerate(lines) if l.lstrip().startswith("R=1"))
    rs = [int(x[2:]) for x in lines[head].split()]
    grid = {}
    for line in lines[head + 1:]:
        f, *counts = line.split()
        for r, n in zip(rs, counts):
            grid[(r, int(f[2:]))] = int(n)
    return grid


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def main():
    rfmctl = sys.argv[1]
    flo = os.path.join(os.environ["RFM_SHARED"], "data", "flo_data_20k.csv")
    art = os.path.join(os.environ["RFM_BIN"], "artifacts")
    os.makedirs(art, exist_ok=True)
    page, png = os.path.join(art, "report.html"), os.path.join(art, "report.png")
    for stale in (page, png):
        if os.path.exists(stale):
            os.unlink(stale)

    text = subprocess.run([rfmctl, "report", "--html", page, "--format", "flo", flo],
                          check=True, capture_output=True, text=True).stdout
    raw = open(page, encoding="utf-8").read()
    check(not re.search(r"<script|<link|<img|<iframe|@import|url\(|src=|https?:", raw, re.I),
          "the page loads nothing from anywhere (no scripts, links, images, URLs)")

    with tempfile.TemporaryDirectory() as profile:
        dom = Dom()
        dom.feed(chromium(["--dump-dom", "file://" + page], profile))
        chromium([f"--screenshot={png}", "--window-size=1200,900", "file://" + page], profile)

    cells = {(int(c["data-r"]), int(c["data-f"])): c for c in dom.cells}
    check(len(dom.cells) == 25 and set(cells) == {(r, f) for r in range(1, 6) for f in range(1, 6)},
          f"25 grid cells, one per (R, F) in 1..5 (found {len(dom.cells)})")
    got = {k: int(c["data-count"]) for k, c in cells.items()}
    check(all(c["shown"].strip() == c["data-count"] for c in dom.cells),
          "each cell shows its data-count")
    check(sum(got.values()) == CUSTOMERS, f"cell counts add up to {CUSTOMERS} ({sum(got.values())})")
    check(got == text_grid(text), "cell counts equal the text report's grid")
    wrong = [k for k, c in cells.items() if c["data-segment"] != seed_segment(f"{k[0]}{k[1]}")]
    check(not wrong, f"every cell carries its SPEC segment (wrong: {wrong})")

    ref = seed_rfm.scored("flo", [flo])
    want = ref.groupby(["r", "f"]).size().to_dict()
    check(got == {(int(r), int(f)): n for (r, f), n in want.items()},
          "cell counts equal pandas' R x F counts (tests/ref/seed_rfm.py)")
    table = {row["data-segment"]: int(row["data-count"]) for row in dom.rows}
    check(table == ref["segment"].value_counts().to_dict(),
          "segment table counts equal pandas' segment counts")

    size = os.path.getsize(png) if os.path.exists(png) else 0
    check(png_size(png) == (1200, 900) and size > 30000,
          f"screenshot {png}: a 1200x900 PNG with something on it ({size} bytes)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
