#!/usr/bin/env python3
"""Wall-clock timing of whole commands, interleaved so that both peers see the
same machine state: `timeit.py RUNS NAME -- CMD ... ::: NAME -- CMD ...`.
Prints `NAME median_s min_s max_s` per command; stdout of commands is discarded."""
import statistics
import subprocess
import sys
import time


def main():
    runs = int(sys.argv[1])
    specs, cur = [], None
    for a in sys.argv[2:] + [":::"]:
        if a == ":::":
            if cur:
                specs.append(cur)
            cur = None
        elif cur is None:
            cur = [a, []]
        elif a == "--" and not cur[1]:
            continue
        else:
            cur[1].append(a)
    times = {name: [] for name, _ in specs}
    for _ in range(runs):
        for name, cmd in specs:
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - t)
    for name, _ in specs:
        v = times[name]
        print(f"{name} {statistics.median(v):.4f} {min(v):.4f} {max(v):.4f}")


if __name__ == "__main__":
    main()
