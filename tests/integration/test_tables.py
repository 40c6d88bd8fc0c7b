"""mp_table: live, case-insensitive, multi-valued request tables; apache.table (spec §10.2)."""

from mphelpers import JSON_PAGE, in_directory

TAB = '''
    from mod_python import apache
    from jsonpage import send_json


    def _raises(action):
        try:
            action()
        except Exception as exc:
            return type(exc).__name__
        return "no error"


    def headers_in(req):
        h = req.headers_in
        return send_json(req, {
            "exact": h["X-Test-Header"],
            "lower": h["x-test-header"],
            "get_upper": h.get("X-TEST-HEADER"),
            "in": "x-TEST-header" in h,
            "get_missing": h.get("X-Absent"),
            "get_default": h.get("X-Absent", "dflt"),
            "getitem_missing": _raises(lambda: h["X-Absent"]),
            "has_host": "host" in [k.lower() for k in h.keys()],
            "items_type": type(h.items()).__name__,
        })


    def out_headers(req):
        out = req.headers_out
        out.add("Set-Cookie", "a=1")
        out.add("set-cookie", "b=2")
        out["X-Single"] = "one"
        out.add("X-Multi", "1")
        out.add("x-multi", "2")
        result = {
            "multi": out["X-MULTI"],
            "multi_get": out.get("x-multi"),
            "single": out["x-single"],
        }
        out["X-Replaced"] = "old"
        out.add("X-Replaced", "older")
        out["x-replaced"] = "new"
        result["replaced"] = out["X-Replaced"]
        return send_json(req, result)


    def err_headers(req):
        req.err_headers_out["X-Err"] = "kept"
        req.headers_out["X-Out"] = "dropped"
        return apache.HTTP_NOT_FOUND


    def live(req):
        first = req.notes
        first["Note-Key"] = "v"
        second = req.notes
        result = {"seen_through_second": second.get("note-key")}
        del first["NOTE-KEY"]
        result["after_del"] = "Note-Key" in second
        req.subprocess_env["MY_VAR"] = "x"
        result["env"] = req.subprocess_env.get("my_var")
        headers = req.headers_out
        headers["X-Live"] = "yes"
        return send_json(req, result)


    def bad_value(req):
        result = {}
        for name, value in (("crlf", "a\\r\\nInjected: 1"), ("lf", "a\\nInjected: 1"),
                            ("nul", "a\\x00b")):
            try:
                req.headers_out["X-Bad-" + name] = value
                result[name] = "accepted"
            except ValueError:
                result[name] = "ValueError"
        return send_json(req, result)


    def standalone(req):
        t = apache.table()
        t["a"] = "1"
        t.add("A", "2")
        r = {
            "dup_getitem": t["a"],
            "dup_get": t.get("A"),
            "len": len(t),
            "keys": [k.lower() for k in t.keys()],
            "values": list(t.values()),
            "items": [[k.lower(), v] for k, v in t.items()],
        }
        c = t.copy()
        del t["A"]
        r["after_del"] = "a" in t
        r["copy_kept"] = c.get("a")
        r["from_dict"] = apache.table({"x": 1})["X"]
        r["from_pairs"] = apache.table([("k", "v"), ("K", "w")])["k"]
        r["setdefault"] = [t.setdefault("s", "first"), t.setdefault("S", "second")]
        r["getitem_missing"] = _raises(lambda: t["nope"])
        r["unhashable"] = _raises(lambda: hash(t))
        r["make_table"] = type(apache.make_table()) is type(t)
        r["eq_dict"] = apache.table({"a": "1"}) == {"a": "1"}
        # Compared as 3.5 did, as a dict: keys as written, duplicates as a list.
        r["eq_dict_as_written"] = apache.table({"Content-Type": "x"}) == {"Content-Type": "x"}
        r["eq_other_case"] = apache.table({"a": "1"}) == apache.table({"A": "1"})
        twice = apache.table()
        twice.add("a", "1")
        twice.add("A", "2")
        r["eq_duplicates_as_list"] = twice == {"a": ["1", "2"]}
        r["ne_dict"] = apache.table({"a": "1"}) != {"a": "2"}
        r["eq_none"] = apache.table() == None  # noqa: E711 - the operator is under test
        t.clear()
        r["cleared"] = len(t)
        u = apache.table()
        u.update({"p": "1", "q": "2"})
        r["update"] = sorted(u.keys())
        return send_json(req, r)


    class KeysAndGetitem:
        # Not a dict: only the two methods dict.update() needs.
        def __init__(self, data):
            self.data = data

        def keys(self):
            return list(self.data)

        def __getitem__(self, key):
            return self.data[key]


    class KeysRaise:
        def keys(self):
            raise ValueError("from keys()")


    class GetitemRaises(KeysAndGetitem):
        def __getitem__(self, key):
            raise LookupError("from __getitem__")


    def dict_protocol(req):
        r = {}
        t = apache.table()
        t.update(KeysAndGetitem({1: 10, "b": "x"}))
        r["update_mapping"] = sorted(t.items())
        r["equal_to_constructed"] = t == apache.table({1: 10, "b": "x"})
        r["update_none"] = _raises(lambda: t.update(None))
        r["update_int"] = _raises(lambda: t.update(5))
        r["keys_raise"] = _raises(lambda: t.update(KeysRaise()))
        r["getitem_raises"] = _raises(lambda: t.update(GetitemRaises({"k": "v"})))
        r["update_pairs"] = _raises(lambda: t.update([("p", "1")]))
        r["after_pairs"] = t.get("p")
        r["setdefault_no_value_is_empty_str"] = t.setdefault("new") == ""
        r["repr_empty"] = repr(apache.table())
        dup = apache.table([("A", "1")])
        dup.add("a", "2")
        r["repr"] = repr(dup)
        r["copied_keeps_duplicates"] = apache.table(dup).items()
        popped = apache.table([("x", "0")])
        for key, value in (("k", "1"), ("x", "9"), ("k", "2")):
            popped.add(key, value)
        r["popitem"] = [popped.popitem(), popped.items()]
        missing = apache.table()
        del missing["Content-Length"]  # no KeyError, as in 3.5
        r["del_missing"] = len(missing)
        r["modules"] = [type(x).__module__ for x in (req, req.connection, req.server, t)]
        r["type_names"] = [type(x).__name__ for x in (req, req.connection, req.server, t)]
        r["type_str"] = [str(type(req.connection)), str(type(req.server))]
        r["notes_repr"] = repr(req.connection.notes)

        class Mine(apache.table):
            def __str__(self):
                return "mine"

        mine = Mine({"a": "b"})
        mine.extra = "attribute"
        mine.add("A", "c")
        r["subclass"] = [str(mine), mine["a"], isinstance(mine, apache.table), mine.extra,
                         type(apache.make_table()).__name__, callable(apache.table)]
        return send_json(req, r)
'''

FILES = {"tab.py": TAB, "jsonpage.py": JSON_PAGE}


def serve(apache, name):
    return apache(in_directory(f"PythonHandler tab::{name}"), files=FILES)


def test_headers_in_is_case_insensitive(apache):
    srv = serve(apache, "headers_in")
    info = srv.get("/x", headers={"X-Test-Header": "v1"}).json()
    assert info == {
        "exact": "v1",
        "lower": "v1",
        "get_upper": "v1",
        "in": True,
        "get_missing": None,
        "get_default": "dflt",
        "getitem_missing": "KeyError",
        "has_host": True,
        "items_type": "list",
    }


def test_headers_out_multi_values_and_set_cookie_twice(apache):
    srv = serve(apache, "out_headers")
    r = srv.get("/x")
    assert r.json() == {
        "multi": ["1", "2"],
        "multi_get": "1",
        "single": "one",
        "replaced": "new",
    }
    assert r.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert r.raw.headers.getlist("X-Multi") == ["1", "2"]
    assert r.raw.headers.getlist("X-Replaced") == ["new"]


def test_err_headers_out_survive_an_error_response(apache):
    srv = serve(apache, "err_headers")
    r = srv.get("/x")
    assert r.status_code == 404
    assert r.headers.get("X-Err") == "kept"
    assert "X-Out" not in r.headers


def test_request_tables_are_live_views(apache):
    srv = serve(apache, "live")
    r = srv.get("/x")
    assert r.json() == {"seen_through_second": "v", "after_del": False, "env": "x"}
    assert r.headers.get("X-Live") == "yes"


def test_header_values_with_cr_lf_nul_raise_value_error(apache):
    srv = serve(apache, "bad_value")
    r = srv.get("/x")
    assert r.status_code == 200
    assert r.json() == {"crlf": "ValueError", "lf": "ValueError", "nul": "ValueError"}
    assert "Injected" not in r.headers


def test_apache_table(apache):
    srv = serve(apache, "standalone")
    assert srv.get("/x").json() == {
        "dup_getitem": ["1", "2"],
        "dup_get": "1",
        "len": 2,
        "keys": ["a", "a"],
        "values": ["1", "2"],
        "items": [["a", "1"], ["a", "2"]],
        "after_del": False,
        "copy_kept": "1",
        "from_dict": "1",
        "from_pairs": "w",  # pairs set, as dict() and 3.5 do
        "setdefault": ["first", "first"],
        "getitem_missing": "KeyError",
        "unhashable": "TypeError",
        "make_table": True,
        "eq_dict": True,
        "eq_dict_as_written": True,
        "eq_other_case": False,
        "eq_duplicates_as_list": True,
        "ne_dict": True,
        "eq_none": False,
        "cleared": 0,
        "update": ["p", "q"],
    }


def test_apache_table_follows_the_dict_protocol_as_mod_python_3_5_did(apache):
    srv = serve(apache, "dict_protocol")
    assert srv.get("/x").json() == {
        # keys() + [] are enough, and keys and values go through str() as in the constructor.
        "update_mapping": [["1", "10"], ["b", "x"]],
        "equal_to_constructed": True,
        # 3.5 looked up keys() on what it was given.
        "update_none": "AttributeError",
        "update_int": "AttributeError",
        "keys_raise": "ValueError",
        "getitem_raises": "LookupError",
        "update_pairs": "no error",
        "after_pairs": "1",
        "setdefault_no_value_is_empty_str": True,
        "repr_empty": "{}",
        "repr": "{'A': '1', 'a': '2'}",
        "copied_keeps_duplicates": [["A", "1"], ["a", "2"]],
        "popitem": [["k", "2"], [["x", "0"], ["x", "9"], ["k", "1"]]],
        "del_missing": 0,
        "modules": ["builtins"] * 4,
        "type_names": ["mp_request", "mp_conn", "mp_server", "mp_table"],
        "type_str": ["<class 'mp_conn'>", "<class 'mp_server'>"],
        "notes_repr": "{}",
        "subclass": ["mine", ["b", "c"], True, "attribute", "mp_table", True],
    }
