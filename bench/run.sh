#!/bin/bash
# Entry point of the benchmark (`make bench` runs this; options are passed through).
#   bench/run.sh                 # default: 3 interleaved rounds (~5 min)
#   bench/run.sh --quick         # 1 round, short runs (< 1 min)
#   bench/run.sh --only ours,a0,c --rounds 5
#   bench/run.sh --list | --help
# Our module: $MP_MODULE_SO, default <repo>/build/mod_python.so (config `ours` is
# skipped while it does not exist). When run as root, missing Debian packages
# (wrk, apache2-dev, libapache2-mod-wsgi-py3, libapache2-mod-python, python3-flask,
# gunicorn, uwsgi-core, uwsgi-plugin-python3) are installed with apt-get unless
# --no-install is given. See bench/README.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

args=()
install=1
for a in "$@"; do
    if [ "$a" = "--no-install" ]; then install=0; else args+=("$a"); fi
done

need=()
[ -x /usr/sbin/apache2 ] || need+=(apache2-bin)
[ -x /usr/bin/wrk ] || need+=(wrk)
[ -x /usr/bin/apxs ] || need+=(apache2-dev)                                          # a0
[ -f /usr/lib/apache2/modules/mod_python.so ] || need+=(libapache2-mod-python)      # c
[ -f /usr/lib/apache2/modules/mod_wsgi.so ] || need+=(libapache2-mod-wsgi-py3)      # e, e-flask
[ -d /usr/lib/python3/dist-packages/flask ] || need+=(python3-flask)                 # *-flask
[ -d /usr/lib/python3/dist-packages/gunicorn ] || need+=(gunicorn)                   # gunicorn*
[ -x /usr/bin/uwsgi-core ] || need+=(uwsgi-core)                                     # uwsgi*
[ -f /usr/lib/uwsgi/plugins/python3_plugin.so ] || need+=(uwsgi-plugin-python3)      # uwsgi*
if [ ${#need[@]} -gt 0 ]; then
    if [ "$install" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench: installing ${need[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
            { apt-get update >&2 && apt-get install -y --no-install-recommends "${need[@]}" >&2; } ||
            echo "bench: apt-get install failed; configs needing ${need[*]} will be skipped" >&2
    else
        echo "bench: not installed: ${need[*]} (the configs needing them are skipped)" >&2
    fi
fi
for t in /usr/sbin/apache2 /usr/bin/wrk /usr/bin/python3; do
    [ -x "$t" ] || { echo "bench: $t is required" >&2; exit 1; }
done

# Debian's interpreter, never a pyenv python3 that may come first on PATH.
exec /usr/bin/python3 "$HERE/bench.py" ${args[@]+"${args[@]}"}
