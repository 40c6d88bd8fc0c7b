"""mod_python.psp's compiled-code caches (spec §14.4) without Apache: bounded hit-count
eviction, (path, mtime) validity, and precompiled .psc/.pspc files."""

import marshal
import os

from mod_python import psp


def test_evicts_least_hit_entries_down_to_three_quarters():
    cache = psp._HitCache(size=8)
    for i in range(8):
        cache.put(i, f"code{i}")
    for i in range(4, 8):  # entries 4..7 are used, 0..3 never
        for _ in range(i):
            assert cache.get(i) == f"code{i}"
    cache.put("new", "fresh")  # 9 entries > 8: shrink to 6, the least-hit go first
    assert len(cache) == 6
    assert [cache.get(i) for i in range(3)] == [None] * 3
    assert [cache.get(i) for i in range(3, 8)] == [f"code{i}" for i in range(3, 8)]
    assert cache.get("new") == "fresh"


def test_default_size_is_512_per_interpreter():
    assert psp.mem_fcache.size == 512
    assert psp.mem_scache.size == 512


def test_file_cache_entry_valid_only_for_its_mtime():
    cache = psp._FileCache()
    code = compile("x = 1", "p.psp", "exec")
    cache.put_code("/srv/p.psp", 100.5, code)
    assert cache.get_code("/srv/p.psp", 100.5) is code
    assert cache.get_code("/srv/p.psp", 101.0) is None
    assert cache.get_code("/srv/other.psp", 100.5) is None
    cache.put_code("/srv/p.psp", 101.0, code)
    assert len(cache) == 1  # one entry per path


def test_precompiled_files(tmp_path):
    page = tmp_path / "page.psp"
    page.write_text("source")
    mtime = page.stat().st_mtime
    assert psp._compiled_file(str(page), mtime) is None
    code = compile("req.write('pre')", str(page), "exec")
    for name in ("page.psc", "page.pspc"):
        pre = tmp_path / name
        pre.write_bytes(marshal.dumps(code))
        os.utime(pre, (mtime + 10, mtime + 10))
        found = psp._compiled_file(str(page), mtime)
        assert found is not None and found.co_filename == str(page), name
        os.utime(pre, (mtime - 10, mtime - 10))  # older than the page: ignored
        assert psp._compiled_file(str(page), mtime) is None, name
        pre.write_bytes(b"\xffnot marshal")  # unreadable: ignored
        os.utime(pre, (mtime + 10, mtime + 10))
        assert psp._compiled_file(str(page), mtime) is None, name
        pre.write_bytes(marshal.dumps(["not", "code"]))
        assert psp._compiled_file(str(page), mtime) is None, name
        pre.unlink()
