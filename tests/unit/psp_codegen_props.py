"""Properties of the PSP code generator, checked through the psp_dump driver:

1. round trip: for random page text (quotes, backslashes, NUL, CR, non-UTF-8, "%>") mixed
   with expression blocks, the generated code compiles and writes back exactly the page's
   bytes (CRLF read as LF);
2. well-formed code blocks in random layouts always give code that compile() accepts;
3. when Debian's mod_python 3.5 `_psp` extension is installed, the generated source equals
   its output for random pages without the bytes where we deliberately differ.

Usage: psp_codegen_props.py PATH_TO_psp_dump
"""
import json
import os
import random
import subprocess
import sys
import tempfile

DUMP = sys.argv[1]
RNG = random.Random(int(os.environ.get("PSP_PROPS_SEED", "1234")))
TEXT_PIECES = [b"a", b" ", b"\n", b"\r\n", b"\r", b'"', b'"""', b"\\", b"\\n", b"\\t", b"\x00",
               b"\xff", "é".encode(), b"%>", b"<", b"%", b"-", b"'''", b"\t", b"x\\", b"{}"]


def generate(page: bytes) -> tuple[int, str, str]:
    proc = subprocess.run([DUMP], input=page, capture_output=True, check=False)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")


def random_text(max_pieces: int = 8) -> bytes:
    while True:
        text = b"".join(RNG.choice(TEXT_PIECES) for _ in range(RNG.randint(0, max_pieces)))
        if b"<%" not in text and not text.endswith(b"<"):
            return text


class FakeReq:
    def __init__(self) -> None:
        self.out = bytearray()

    def write(self, data, flush=1) -> None:
        self.out += data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


def check_round_trip(count: int) -> None:
    for _ in range(count):
        page, expected = b"", b""
        for _ in range(RNG.randint(1, 5)):
            text = random_text()
            page += text
            expected += text.replace(b"\r\n", b"\n")
            if RNG.random() < 0.5:
                value = RNG.choice(["1", "'v'", "'\\\\'", "None"])
                page += b"<%=" + value.encode() + b"%>"
                expected += str(eval(value)).encode()  # noqa: S307 - fixed literals
        rc, code, err = generate(page)
        assert rc == 0, (page, err)
        req = FakeReq()
        exec(compile(code, "page.psp", "exec"), {"req": req})  # noqa: S102
        assert bytes(req.out) == expected, (page, code, bytes(req.out), expected)


CODE_LAYOUTS = [
    b"<%\nx = 1\n%>",
    b"<% x = 2 %>",
    b"<%\nfor i in range(2):\n%>T<%=i%>\n<%\n%>",
    b"<%\nif True:\n    y = 1\n%>T\n<%\n%>",
    b"<%\nif x:\n%>A\n<%\nelse:\n%>B\n<%\n%>",
    b"<%-- comment with <% code %> --%>",
    b"<%= 'e' %>",
    b"<%\n\n%>",
    b"<%\r\nz = 3\r\n%>",
]


def check_compiles(count: int) -> None:
    for _ in range(count):
        page = b""
        for _ in range(RNG.randint(1, 6)):
            page += random_text(4)
            if not page.endswith(b"\n") and RNG.random() < 0.7:
                page += b"\n"
            page += RNG.choice(CODE_LAYOUTS)
            if RNG.random() < 0.5:
                page += b"\n"
        rc, code, err = generate(page)
        assert rc == 0, (page, err)
        try:
            compile(code, "page.psp", "exec")
        except SyntaxError as exc:
            # Only the 3.5 rule "a block must start on its own line" may reject a layout.
            assert b"%>" in page, (page, code, exc)
            raise AssertionError(f"generated code does not compile: {page!r}\n{code}") from exc


DEBIAN_DRIVER = r"""
import json, sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from mod_python import _psp
pages = json.load(open(sys.argv[1]))
out = [_psp.parsestring(p.encode("latin-1")) for p in pages]
json.dump(out, open(sys.argv[2], "w"))
"""

REFERENCE_PIECES = ["a", " ", "\n", "\r\n", '"', "%>", "<", "%", "-", ":", "\t", "  ", "x=1",
                    "if 1:", "for i in x:", "<%", "<%=", "<%--", "--%>", "'", "é"]


def reference_available() -> bool:
    return os.path.exists("/usr/lib/python3/dist-packages/mod_python/_psp.cpython-311-x86_64-linux-gnu.so")


def check_against_reference(count: int) -> int:
    pages = []
    while len(pages) < count:
        page = "".join(RNG.choice(REFERENCE_PIECES) for _ in range(RNG.randint(0, 14)))
        if "<%@" in page:
            continue
        rc, _, _ = generate(page.encode("utf-8"))
        if rc == 0:  # ours rejects unterminated blocks, which 3.5 turns into broken code
            pages.append(page)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(src, "w") as fh:
            json.dump([p.encode("utf-8").decode("latin-1") for p in pages], fh)
        subprocess.run([sys.executable, "-c", DEBIAN_DRIVER, src, dst], check=True,
                       stdout=subprocess.DEVNULL)
        with open(dst) as fh:
            reference = json.load(fh)
    for page, ref in zip(pages, reference):
        _, code, _ = generate(page.encode("utf-8"))
        assert code == ref, f"differs from 3.5 for {page!r}:\nours: {code!r}\n3.5:  {ref!r}"
    return len(pages)


def main() -> None:
    check_round_trip(300)
    check_compiles(300)
    if reference_available():
        n = check_against_reference(1500)
        print(f"psp: {n} pages identical to mod_python 3.5's generator")
    else:
        print("psp: mod_python 3.5 _psp not installed; equivalence check skipped")
    print("psp codegen properties: ok")


if __name__ == "__main__":
    main()
