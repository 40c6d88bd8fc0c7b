"""Fuzz-style property test of FieldStorage's multipart parser (docs/decisions/0005).

The parsers are Python, so instead of libFuzzer this drives them with a deterministic
stream of mutated request bodies: valid seed bodies with truncations, random bytes,
inserted or removed boundaries, huge header lines and values, line-ending changes,
random chunked delivery, small and default limits.  For every input FieldStorage must
either return fields (str names, bytes values, within the limits) or raise
``SERVER_RETURN`` 400/413 -- never any other exception -- while reading in bounded
blocks and allocating memory bounded by what it keeps, not by the body.

A failure message names the case number and the mutations; re-run a single case with
``MP_FUZZ_CASE=<n>`` (``MP_FUZZ_CASES`` / ``MP_FUZZ_SEED`` change the run).
"""

import os
import random
import time
import tracemalloc

from mod_python import apache, util

from .fakes import FakeRequest, multipart_body

SEED = int(os.environ.get("MP_FUZZ_SEED", "20261123"))
CASES = int(os.environ.get("MP_FUZZ_CASES", "900"))
ONLY_CASE = os.environ.get("MP_FUZZ_CASE")
BOUNDARY = b"fuzz-Bd7'x"
DELIM = b"--" + BOUNDARY
CTYPE = 'multipart/form-data; boundary="' + BOUNDARY.decode() + '"'

SMALL_LIMITS = {
    util.OPTION_MAX_FIELDS: "6",
    util.OPTION_MAX_PART_HEADER_SIZE: "300",
    util.OPTION_MAX_FIELD_SIZE: "200",
}


def seed_bodies() -> list:
    """Valid bodies: the corpus the mutations start from."""
    b = BOUNDARY.decode()
    bodies = [
        multipart_body([("a", b"1")], b),
        multipart_body([("a", b"1\r\n2"), ("f", b"data\r\n", "x.txt", "text/plain"),
                        ("b", b"")], b),
        multipart_body([("n%d" % i, b"v" * i) for i in range(5)], b),
        multipart_body([("up", bytes(range(256)) * 4, "bin.dat", "application/octet-stream"),
                        ("note", "h\u00e9 \u20ac".encode())], b),
        multipart_body([("\u00e9t\u00e9", b"x", "../../etc/passwd")], b),
        # preamble, epilogue, LF-only lines, header continuation, padded closing delimiter
        (b"preamble\r\n" + DELIM + b"\nContent-Disposition: form-data;\n\tname=\"c\"\n\n"
         b"lf\nonly\n" + DELIM + b"-- \t\r\nepilogue"),
        # a value that looks like, but is not, a delimiter
        (DELIM + b"\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\n"
         + DELIM + b"x\r\n--" + DELIM + b"\r\n" + DELIM + b"--\r\n"),
        # no closing delimiter at all
        DELIM + b"\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\nunterminated",
    ]
    return bodies


TOKENS = [
    b"\r\n", b"\n", b"\r", b"--", DELIM, DELIM + b"\r\n", DELIM + b"--", DELIM + b"--\r\n",
    b"\r\n" + DELIM + b"\r\n", b"\r\n\r\n", b"Content-Disposition: form-data; name=\"",
    b"; filename=\"", b"Content-Type: ", b";", b'"', b"\\", b"\x00", b":", b" \t", b"=",
    b"\xff\xfe", b"\xc3", b"%00",
]


def _pos(data, rng):
    return rng.randrange(len(data) + 1)


def m_truncate(data, rng):
    return data[:_pos(data, rng)]


def m_delete(data, rng):
    pos = _pos(data, rng)
    return data[:pos] + data[pos + rng.randrange(1, 40):]


def m_random_bytes(data, rng):
    pos = _pos(data, rng)
    return data[:pos] + rng.randbytes(rng.randrange(1, 64)) + data[pos:]


def m_overwrite(data, rng):
    out = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def m_token(data, rng):
    pos = _pos(data, rng)
    return data[:pos] + rng.choice(TOKENS) + data[pos:]


def m_huge_header_line(data, rng):
    # A long header line (with or without its newline) right after a delimiter line.
    starts = [i + len(DELIM) + 2 for i in range(len(data)) if data.startswith(DELIM + b"\r\n", i)]
    pos = rng.choice(starts) if starts else _pos(data, rng)
    size = rng.choice([300, 5000, util.readBlockSize - 1, util.readBlockSize + 1, 70000, 200000])
    line = b"X-Long: " + b"h" * size + rng.choice([b"\r\n", b"\n", b""])
    return data[:pos] + line + data[pos:]


def m_huge_value(data, rng):
    # Bytes without any newline, or many short lines, where a value probably is.
    pos = _pos(data, rng)
    filler = rng.choice([b"v", b"line\r\n", b"\r", b"\n"])
    if filler == b"v":
        size = rng.choice([199, 201, 5000, util.readBlockSize + 3, 150000])
    else:  # every line costs a readline() call: keep the run short
        size = rng.choice([199, 201, 2000, 12000])
    return data[:pos] + (filler * (size // len(filler) + 1))[:size] + data[pos:]


def m_drop_boundaries(data, rng):
    which = rng.randrange(3)
    if which == 0:
        return data.replace(DELIM, b"")  # no boundary at all
    if which == 1:
        return data.replace(DELIM + b"--", b"")  # no closing delimiter
    count = data.count(DELIM)
    if not count:
        return data
    skip = rng.randrange(count)
    start = -1
    for _ in range(skip + 1):
        start = data.find(DELIM, start + 1)
    return data[:start] + data[start + len(DELIM):]  # one delimiter missing


def m_corrupt_boundary(data, rng):
    twisted = bytearray(DELIM)
    twisted[rng.randrange(len(twisted))] ^= rng.choice([0x20, 0x01, 0x7F])
    return data.replace(DELIM, bytes(twisted), rng.randrange(1, 4))


def m_line_endings(data, rng):
    return rng.choice([data.replace(b"\r\n", b"\n"), data.replace(b"\r\n", b"\r"),
                       data.replace(b"\n", b"\r\n")])


def m_duplicate(data, rng):
    if not data:
        return data
    start = rng.randrange(len(data))
    piece = data[start:start + rng.randrange(1, 200)]
    pos = _pos(data, rng)
    return data[:pos] + piece * rng.randrange(1, 20) + data[pos:]


def m_many_parts(data, rng):
    part = DELIM + b"\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n"
    pos = data.find(DELIM)
    pos = 0 if pos < 0 else pos
    return data[:pos] + part * rng.choice([3, 7, 40]) + data[pos:]


MUTATORS = [m_truncate, m_delete, m_random_bytes, m_overwrite, m_token, m_token,
            m_huge_header_line, m_huge_value, m_drop_boundaries, m_corrupt_boundary,
            m_line_endings, m_duplicate, m_many_parts]


def split_randomly(data, rng):
    pieces, pos = [], 0
    while pos < len(data):
        step = rng.choice([1, 2, 5, 64, 1000, 8191, 70000])
        pieces.append(data[pos:pos + step])
        pos += step
    return pieces


def make_case(number):
    """(request, description, limits) of case ``number`` (depends only on SEED, number)."""
    rng = random.Random(f"{SEED}:{number}")
    corpus = seed_bodies()
    data = rng.choice(corpus)
    ops = []
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        mutate = rng.choice(MUTATORS)
        ops.append(mutate.__name__)
        data = mutate(data, rng)
    options = SMALL_LIMITS if rng.randrange(3) == 0 else {}
    ctype = CTYPE
    if rng.randrange(20) == 0:
        ctype = rng.choice(["multipart/form-data", "multipart/form-data; boundary=",
                            "multipart/form-data; boundary=other",
                            "multipart/mixed; boundary=" + BOUNDARY.decode()])
        ops.append(f"content-type {ctype!r}")
    if rng.randrange(2):
        req = FakeRequest("POST", body=split_randomly(data, rng), chunked=True,
                          content_type=ctype, options=options)
        ops.append("chunked")
    else:
        req = FakeRequest("POST", body=data, content_type=ctype, options=options)
    limits = {
        "fields": int(options.get(util.OPTION_MAX_FIELDS, util.DEFAULT_MAX_FIELDS)),
        "field_size": int(options.get(util.OPTION_MAX_FIELD_SIZE, util.DEFAULT_MAX_FIELD_SIZE)),
    }
    what = f"case {number} (seed {SEED}, {len(data)} bytes, limits {options or 'default'}): {ops}"
    return req, what, limits, len(data)


def check_result(fs, what, limits):
    assert len(fs.list) <= limits["fields"], what
    kept = 0
    for name, field in fs.items():
        assert type(name) is str, what
        if isinstance(field, util.StringField):
            assert len(field) <= limits["field_size"], what
            kept += len(field)
        else:
            assert field.filename is not None, what
            value = field.value
            assert isinstance(value, bytes), what
            field.file.close()
    return kept


def test_mutated_multipart_bodies_give_fields_or_400_413():
    numbers = [int(ONLY_CASE)] if ONLY_CASE else range(CASES)
    outcomes = {"ok": 0, 400: 0, 413: 0}
    slowest = (0.0, None)
    tracemalloc.start()
    try:
        for number in numbers:
            req, what, limits, size = make_case(number)
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            kept = 0
            try:
                fs = util.FieldStorage(req)
            except apache.SERVER_RETURN as exc:
                assert exc.args[0] in (400, 413), f"{what}: status {exc.args[0]}"
                outcomes[exc.args[0]] += 1
            except Exception as exc:  # noqa: BLE001 -- the property under test
                raise AssertionError(f"{what}: {type(exc).__name__}: {exc}") from exc
            else:
                outcomes["ok"] += 1
                kept = check_result(fs, what, limits)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] - base
            slowest = max(slowest, (elapsed, number))
            # Reads are bounded blocks; memory is what the fields keep plus a few blocks,
            # whatever the body's size.
            if req.readline_calls:
                assert req.max_readline_size is not None, f"{what}: readline() without a limit"
                assert req.max_readline_size <= util.readBlockSize, what
            assert peak <= 3 * kept + 8 * util.readBlockSize, \
                f"{what}: peak {peak} bytes, kept {kept} (body {size})"
            assert elapsed < 2.0, f"{what}: {elapsed:.2f} s"
    finally:
        tracemalloc.stop()
    if not ONLY_CASE:
        # The mutations must reach all three outcomes often, or the test proves little.
        assert min(outcomes.values()) >= CASES // 40, outcomes


def test_streamed_garbage_without_boundaries_is_bounded():
    """8 MiB of random bytes (some newlines, no delimiter) streamed in: all preamble."""
    rng = random.Random(SEED)
    block = rng.randbytes(1 << 20)

    def body():
        for _ in range(8):
            yield block

    req = FakeRequest("POST", body=body(), content_type=CTYPE, chunked=True)
    tracemalloc.start()
    try:
        fs = util.FieldStorage(req)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(fs.list) == 0
    assert req.bytes_read == 8 << 20
    assert peak < 6 * util.readBlockSize + (1 << 20), peak  # one source block + a few reads
