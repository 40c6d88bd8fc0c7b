#!/usr/bin/python3
"""FieldStorage benchmark: parse a large multipart upload without Apache (not a test).

A fake request (tests/python/fakes.py) streams a generated multipart body with one big
file part through ``mod_python.util.FieldStorage`` exactly as ``req.readline`` would
deliver it, so the body never exists in memory.  Prints the elapsed time, the
throughput and the peak RSS of the process (``resource.getrusage``), which should stay
a few MiB above the interpreter's baseline whatever the upload size.

    /usr/bin/python3 bench/bench_forms.py                 # 100 MiB, binary-like data
    /usr/bin/python3 bench/bench_forms.py --mib 500 --lines 40   # text with short lines
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

import fakes  # noqa: E402  (path set up above)

fakes.install()

from mod_python import util  # noqa: E402


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=100, help="upload size in MiB (100)")
    parser.add_argument("--lines", type=int, default=0,
                        help="bytes per line of the upload; 0 = random binary (default)")
    parser.add_argument("--piece", type=int, default=1 << 20,
                        help="size of the pieces the fake client delivers (1 MiB)")
    parser.add_argument("--chunked", action="store_true",
                        help="send Transfer-Encoding: chunked instead of Content-Length")
    args = parser.parse_args()

    size = args.mib * 1024 * 1024
    if args.lines > 0:
        pattern = b"x" * (args.lines - 2) + b"\r\n"
    else:
        pattern = os.urandom(1 << 16)  # ~one newline per 256 bytes, like compressed data
    boundary = "bench-boundary-7d1f"

    body = fakes.streamed_upload(size, boundary=boundary, piece=args.piece, pattern=pattern)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if args.chunked:
        req = fakes.FakeRequest("POST", headers=headers, body=body, chunked=True)
    else:
        total = sum(len(part) for part in fakes.streamed_upload(
            size, boundary=boundary, piece=args.piece, pattern=pattern))
        req = fakes.FakeRequest("POST", headers=headers, body=body, content_length=total)

    rss_before = maxrss_mib()
    start = time.perf_counter()
    fs = util.FieldStorage(req)
    elapsed = time.perf_counter() - start
    rss_after = maxrss_mib()

    upload = fs["file"]
    upload.file.seek(0, os.SEEK_END)
    stored = upload.file.tell()
    if stored != size or fs["after"] != b"ok":
        print(f"FAILED: stored {stored} bytes of {size}", file=sys.stderr)
        return 1
    print(f"upload            {args.mib} MiB ({'chunked' if args.chunked else 'Content-Length'},"
          f" {'binary' if args.lines <= 0 else f'{args.lines}-byte lines'})")
    print(f"parse time        {elapsed:.3f} s  ({size / elapsed / 1048576:.1f} MiB/s)")
    print(f"readline calls    {req.readline_calls}")
    print(f"peak RSS          {rss_after:.1f} MiB (before parsing: {rss_before:.1f} MiB, "
          f"growth {rss_after - rss_before:.1f} MiB)")
    print(f"stored in         {type(upload.file).__name__} (temporary file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
