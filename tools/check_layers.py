#!/usr/bin/python3
"""Checks the include layering of src/ (docs/architecture.md): a folder may include only
itself and the folders below it."""
import pathlib
import re
import sys

ALLOWED = {
    "common": {"common"},
    "cpython": {"cpython", "common"},
    "wsgi": {"wsgi", "cpython", "common"},
    "apache": {"apache", "common"},
    "python": {"python", "cpython", "apache", "common"},
    "handlers": {"handlers", "wsgi", "python", "cpython", "apache", "common"},
    "module": {"module", "handlers", "wsgi", "python", "cpython", "apache", "common"},
}
INCLUDE = re.compile(r'#include "([a-z_]+)/')

root = pathlib.Path(__file__).resolve().parent.parent / "src"
errors = []
for path in sorted(root.rglob("*")):
    if path.suffix not in (".h", ".cpp"):
        continue
    layer = path.relative_to(root).parts[0]
    allowed = ALLOWED.get(layer)
    if allowed is None:
        errors.append(f"{path}: folder '{layer}' has no layer rule")
        continue
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = INCLUDE.match(line)
        if match and match.group(1) not in allowed:
            errors.append(f"{path}:{number}: {layer}/ may not include {match.group(1)}/")
for error in errors:
    print(error)
print(f"layers: {'ok' if not errors else f'{len(errors)} violation(s)'}")
sys.exit(1 if errors else 0)
