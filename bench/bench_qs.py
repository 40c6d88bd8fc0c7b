#!/usr/bin/python3
"""parse_qsl benchmark: mod_python.util.parse_qsl vs urllib.parse.parse_qsl (not a test).

Parses query strings of about 1 MiB (str and bytes) with both functions, checks they
give the same pairs (the inputs use only ``&``, the one separator both accept) and
prints the best of ``--repeat`` timings of each, their ratio and the throughput.

    /usr/bin/python3 bench/bench_qs.py                # 1 MiB, best of 5
    /usr/bin/python3 bench/bench_qs.py --mib 4 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

from mod_python import util  # noqa: E402  (path set up above)


def shapes(size: int) -> dict:
    """Query strings of ``size`` bytes or a little more, of different shapes."""

    def repeat(unit_of: Callable[[int], str]) -> str:
        parts, total, i = [], 0, 0
        while total < size:
            unit = unit_of(i)
            parts.append(unit)
            total += len(unit) + 1
            i += 1
        return "&".join(parts)

    return {
        "short pairs (k1=v1)": repeat(lambda i: f"k{i}=v{i}"),
        "form fields (+, %xx)": repeat(
            lambda i: f"field_{i % 50}=some+text+%C3%A9t%C3%A9+%26+more+{i}"),
        "all percent-encoded": repeat(lambda i: "%41%42%43=" + "%e2%82%ac" * 8),
        "one 1 MiB value": "big=" + "x" * size,
        "empty segments (&&&)": "&" * size + "a=1",
    }


def std_str(qs: str) -> list:
    return urllib.parse.parse_qsl(qs, keep_blank_values=True)


def std_latin1(qs: str) -> list:
    return urllib.parse.parse_qsl(qs, keep_blank_values=True, encoding="latin-1")


def best_of(func: Callable[[Any], Any], arg: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(arg)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=float, default=1.0, help="input size in MiB (1)")
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs (5)")
    args = parser.parse_args()
    size = int(args.mib * 1024 * 1024)

    print(f"Python {sys.version.split()[0]}, {args.mib:g} MiB inputs, best of {args.repeat}")
    print(f"{'input':24} {'type':5} {'pairs':>7} {'util ms':>9} {'urllib ms':>9} "
          f"{'ratio':>6} {'util MiB/s':>10}")
    status = 0
    for name, text in shapes(size).items():
        for kind, qs in (("str", text), ("bytes", text.encode())):
            ours = util.parse_qsl(qs, 1)
            if kind == "str":
                ref_input, ref = text, std_str
                theirs = ref(ref_input)
            else:
                # urllib's bytes mode cannot return non-ASCII bytes; its byte-exact
                # equivalent is a Latin-1 round trip (as in tests/python/test_util_qs.py).
                ref_input, ref = qs.decode("latin-1"), std_latin1
                theirs = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in ref(ref_input)]
            if ours != theirs:
                print(f"MISMATCH for {name} ({kind})", file=sys.stderr)
                status = 1
            t_ours = best_of(lambda q: util.parse_qsl(q, 1), qs, args.repeat)
            t_std = best_of(ref, ref_input, args.repeat)
            print(f"{name:24} {kind:5} {len(ours):7d} {t_ours * 1e3:9.1f} {t_std * 1e3:9.1f} "
                  f"{t_ours / t_std:6.2f} {len(qs) / t_ours / 1048576:10.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
