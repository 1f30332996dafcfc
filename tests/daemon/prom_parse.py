"""Parse a Prometheus text exposition (format 0.0.4) read from stdin with the
reference client library's parser, check what that parser lets through, and
print every sample as JSON for the C test to assert on.

  {"types": {family: type}, "samples": [{"name", "labels", "value"}]}

NaN and infinities are printed as the strings "NaN", "+Inf", "-Inf".
Exit status 1 (with the reason on stderr) when the text is not valid.

Checks beyond the parser, which is lenient about them: every sample belongs
to the family whose "# TYPE" line came last (families contiguous, declared
before their samples), every family has HELP and TYPE exactly once, no
sample (name + labels) appears twice, and the body ends with a newline.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

SUFFIXES = {"summary": ("_sum", "_count", ""), "histogram": ("_bucket", "_sum", "_count")}


def fail(msg):
    print(f"prom_parse: {msg}", file=sys.stderr)
    sys.exit(1)


def family_of(sample, family, ftype):
    for suffix in SUFFIXES.get(ftype, ("",)):
        if sample == family + suffix:
            return True
    return False


def check_structure(text):
    if not text.endswith("\n"):
        fail("the exposition does not end with a newline")
    helps, types = {}, {}
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in helps:
                fail(f"line {no}: second HELP for {name}")
            helps[name] = no
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4:
                fail(f"line {no}: malformed TYPE line")
            name, ftype = parts[2], parts[3]
            if name in types:
                fail(f"line {no}: second TYPE for {name}")
            if ftype not in ("counter", "gauge", "summary", "histogram", "untyped"):
                fail(f"line {no}: unknown type {ftype}")
            if name not in helps:
                fail(f"line {no}: TYPE for {name} without HELP before it")
            types[name] = ftype
            current = name
        elif line.startswith("#"):
            continue
        else:
            sample = line.split("{", 1)[0].split(" ", 1)[0]
            if current is None or not family_of(sample, current, types[current]):
                fail(f"line {no}: sample {sample} outside its family's block")
    for name in helps:
        if name not in types:
            fail(f"HELP for {name} without TYPE")
    return types


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def main():
    text = sys.stdin.read()
    types = check_structure(text)
    samples, seen = [], set()
    try:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                key = (s.name, tuple(sorted(s.labels.items())))
                if key in seen:
                    fail(f"duplicate sample {s.name}{s.labels}")
                seen.add(key)
                samples.append({"name": s.name, "labels": s.labels, "value": number(s.value)})
    except ValueError as e:
        fail(f"rejected by prometheus_client: {e}")
    json.dump({"types": types, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
