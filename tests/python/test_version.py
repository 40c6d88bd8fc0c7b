"""mod_python.version: build-time facts 3.5 configurations test (no Apache)."""

import re

from mod_python import version


def test_httpd_and_apr_versions_are_those_of_the_build():
    # 3.5's httpdconf idiom: only_if="mod_python.version.HTTPD_VERSION[0:3] == '2.4'".
    assert re.fullmatch(r"2\.4\.\d+", version.HTTPD_VERSION)
    assert re.fullmatch(r"1\.\d+\.\d+", version.APR_VERSION)
    assert version.version.startswith("3.5")
