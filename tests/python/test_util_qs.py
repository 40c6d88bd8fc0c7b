"""util.parse_qs / parse_qsl: urllib semantics with both & and ; as separators (§11.4)."""

import random
import urllib.parse

import pytest

from mod_python import util

FIXED = [
    "", "a", "a=", "=", "==", "=a", "a=1", "a=1&b=2", "a=1;b=2", "a=1&b=2;c=3", "&&;;",
    "&a=1&", ";a=1;", "a=1&&b=2", "a==1", "a=1=2", "a+b=c+d", "a%20b=c%2Bd", "%", "%%",
    "%2", "%zz=1", "a=%", "a=%4", "a=%41", "a=%4g", "%00=%00", "a=%00b", "a=%ff", "%ff%fe=x",
    "a=%C3%A9", "a=%c3", "é=è", "a=\x00", "a=1&a=2&a=3", "b=1&a=2&b=3", " a = 1 ", "a=1 ",
    "+=+", "a&b&c", "a=&b=&c=", ";", "&", "a;b", "x=y;z", "k=v%3Bw", "k=v%26w",
    "a=1\nb=2", "\ud800=x", "a=\udcff", "\udcc3\udca9=1",
]


def urllib_qsl(qs, keep_blank_values=0, strict_parsing=0):
    """urllib's parse_qsl with ';' treated as '&' (our reference)."""
    if isinstance(qs, bytes):
        qs = qs.replace(b";", b"&")
    else:
        qs = qs.replace(";", "&")
    return urllib.parse.parse_qsl(qs, keep_blank_values=keep_blank_values,
                                  strict_parsing=strict_parsing)


def urllib_qsl_bytes(qs: bytes, keep_blank_values=0, strict_parsing=0):
    """Byte-exact reference for bytes input: urllib on a Latin-1 round trip."""
    text = qs.decode("latin-1").replace(";", "&")
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=keep_blank_values,
                                   strict_parsing=strict_parsing, encoding="latin-1")
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs]


def outcome(func, *args):
    try:
        return ("ok", func(*args))
    except ValueError:
        return ("ValueError", None)


@pytest.mark.parametrize("qs", FIXED)
@pytest.mark.parametrize("keep", [0, 1])
@pytest.mark.parametrize("strict", [0, 1])
def test_fixed_inputs_match_urllib(qs, keep, strict):
    assert outcome(util.parse_qsl, qs, keep, strict) == outcome(urllib_qsl, qs, keep, strict)


@pytest.mark.parametrize("qs", [q for q in FIXED if q.isascii()])
@pytest.mark.parametrize("keep", [0, 1])
def test_ascii_bytes_match_urllib_bytes(qs, keep):
    try:
        expected = urllib_qsl(qs.encode(), keep)
    except UnicodeEncodeError:
        # urllib cannot return escaped non-ASCII bytes for bytes input; the byte-exact
        # comparison below covers these.
        expected = urllib_qsl_bytes(qs.encode(), keep)
    assert util.parse_qsl(qs.encode(), keep) == expected


ALPHABET = ["a", "b", "=", "&", ";", "+", "%", "2", "0", "f", "F", "g", "4", "1", " ", "é",
            "\x00", "%41", "%ff", "%C3%A9", "%3D", "%26", "%3b", "\udcff", "€"]


def random_qs(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 30)))


def test_random_str_inputs_match_urllib():
    rng = random.Random(20240611)
    for _ in range(4000):
        qs = random_qs(rng)
        keep = rng.randrange(2)
        strict = rng.randrange(2)
        assert outcome(util.parse_qsl, qs, keep, strict) == \
            outcome(urllib_qsl, qs, keep, strict), qs


def test_random_bytes_inputs_are_byte_exact():
    rng = random.Random(7)
    specials = b"=&;+%0123456789abcdefABCDEFg \x00\xff\xc3\xa9\x80"
    for _ in range(4000):
        if rng.randrange(3):
            qs = bytes(rng.choice(specials) for _ in range(rng.randrange(0, 40)))
        else:
            qs = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        keep = rng.randrange(2)
        strict = rng.randrange(2)
        got = outcome(util.parse_qsl, qs, keep, strict)
        assert got == outcome(urllib_qsl_bytes, qs, keep, strict), qs
        if got[0] == "ok":
            assert all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in got[1])


def test_non_strict_never_raises_on_any_bytes():
    rng = random.Random(99)
    for _ in range(2000):
        qs = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        util.parse_qsl(qs, 1)
        util.parse_qs(qs)
        text = qs.decode("utf-8", "surrogateescape")
        util.parse_qsl(text, 1)
        util.parse_qs(text, 0)


def test_short_names_are_not_corrupted():
    # mod_python 3.5 returned [('1', '1'), ('2', '2')] here (§20.3).
    assert util.parse_qsl("a=1&b=2") == [("a", "1"), ("b", "2")]
    assert util.parse_qs("a=1&b=2") == {"a": ["1"], "b": ["2"]}


def test_semicolon_separates():
    assert util.parse_qsl("a=1;b=2&c=3") == [("a", "1"), ("b", "2"), ("c", "3")]


def test_str_output_is_str_decoded_with_replace():
    assert util.parse_qsl("a=%ff&%C3%A9=%c3%a9") == [("a", "\ufffd"), ("é", "é")]


def test_bytes_output_is_raw_bytes():
    assert util.parse_qsl(b"a=%ff&%C3%A9=%00+") == [(b"a", b"\xff"), (b"\xc3\xa9", b"\x00 ")]


def test_blank_values():
    assert util.parse_qsl("a=&b&c=1") == [("c", "1")]
    assert util.parse_qsl("a=&b&c=1", 1) == [("a", ""), ("b", ""), ("c", "1")]


def test_strict_parsing_raises_value_error():
    with pytest.raises(ValueError):
        util.parse_qsl("a=1&b", 0, 1)
    with pytest.raises(ValueError):
        util.parse_qsl("a=1&&b=2", 0, 1)
    assert util.parse_qsl("a=1;b=2", 0, 1) == [("a", "1"), ("b", "2")]


def test_parse_qs_first_seen_order_and_lists():
    result = util.parse_qs("b=1&a=2&b=3;c=4&a=5")
    assert list(result) == ["b", "a", "c"]
    assert result == {"b": ["1", "3"], "a": ["2", "5"], "c": ["4"]}


def test_parse_qs_keep_blank():
    assert util.parse_qs("a=&a=1", 1) == {"a": ["", "1"]}
    assert util.parse_qs("a=&a=1") == {"a": ["1"]}


def test_type_error_for_other_types():
    with pytest.raises(TypeError):
        util.parse_qsl(12)
    with pytest.raises(TypeError):
        util.parse_qs(None)


def test_bytearray_accepted():
    assert util.parse_qsl(bytearray(b"a=1")) == [(b"a", b"1")]


def test_huge_inputs_are_linear():
    qs = "&;" * 500000 + "a=1"
    assert util.parse_qsl(qs) == [("a", "1")]
    many = "&".join(f"k{i}=v{i}" for i in range(100000))
    assert len(util.parse_qsl(many)) == 100000
    assert len(util.parse_qsl(many.encode())) == 100000
