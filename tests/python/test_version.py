"""mod_python.version: build-time facts 3.5 configurations test (no Apache)."""

import re

from mod_python import version


def test_httpd_and_apr_versions_are_those_of_the_build():
    # 3.5's httpdconf idiom: only_if="mod_python.version.HTTPD_VERSION[0:3] == '2.4'".
    assert re.fullmatch(r"2\.4\.\d+", version.HTTPD_VERSION)
    assert re.fullmatch(r"1\.\d+\.\d+", version.APR_VERSION)
    assert version.version.startswith("3.5")


def _started_without_version_module(monkeypatch, c_version):
    import sys

    from mod_python import apache

    # _interpreter_started points sys.stdout/stderr at the error log: put them back after.
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    import mod_python

    monkeypatch.setitem(sys.modules, "mod_python.version", None)  # import raises ImportError
    monkeypatch.delattr(mod_python, "version", raising=False)
    return apache._interpreter_started(c_version, restrict_signals=False)


def test_a_package_without_version_py_starts_with_a_warning_naming_the_cause(monkeypatch):
    warning = _started_without_version_module(monkeypatch, "3.5.0+cpp.test")
    assert "has no version.py" in warning and "3.5.0+cpp.test" in warning


def test_a_version_mismatch_is_reported(monkeypatch):
    import sys

    from mod_python import apache

    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    warning = apache._interpreter_started("0.0.1", restrict_signals=False)
    assert warning.startswith("mod_python version mismatch") and version.version in warning
