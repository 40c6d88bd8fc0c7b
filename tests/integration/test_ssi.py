"""The SSI element <!--#python eval/exec --> through mod_include (spec §2.7)."""

import pytest

PAGE = (
    'A<!--#python eval="1+1"-->B\n'
    '<!--#python exec="\n'
    'x = 5\n'
    'filter.write(str(x * 2))\n'
    '"-->\n'
    "C<!--#python eval=\"__file__.endswith('page.shtml')\"-->\n"
    '<!--#python eval="None"-->E<!--#python eval="x + 1"-->\n'
)

SSI_DIR = """
<Directory "@DOCROOT@">
    Options {options}
    AddOutputFilter INCLUDES .shtml
</Directory>
"""


def serve(apache, options="+Includes", page=PAGE, **kwargs):
    return apache(SSI_DIR.format(options=options), files={"page.shtml": page},
                  extra_modules=["include"], **kwargs)


def test_eval_and_exec_share_request_globals(apache):
    srv = serve(apache)
    r = srv.get("/page.shtml")
    assert r.status_code == 200
    assert r.text == "A2B\n10\nCTrue\nE6\n"


@pytest.mark.allow_log("MP0170")
def test_error_gives_the_include_error_marker_and_a_log_line(apache):
    srv = serve(apache, page='X<!--#python eval="1/0"-->Y\n')
    r = srv.get("/page.shtml")
    assert r.status_code == 200
    assert r.text.startswith("X[an error occurred while processing this directive]Y")
    assert srv.wait_for_log("ZeroDivisionError")


@pytest.mark.allow_log("MP0171")
def test_includes_noexec_forbids_the_element(apache):
    srv = serve(apache, options="+IncludesNOEXEC", page='X<!--#python eval="1+1"-->Y\n')
    r = srv.get("/page.shtml")
    assert "2" not in r.text
    assert "[an error occurred while processing this directive]" in r.text
    assert srv.wait_for_log("#python used but not allowed in")
