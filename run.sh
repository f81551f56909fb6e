#!/usr/bin/env bash
# The two commands of the README:
#   bash run.sh study [snakemake args]   install what is needed, run the whole study, build the report
#   bash run.sh test  [pytest args]      install what is needed, run the test suite
# Idempotent: the virtualenv (.venv, or $LOTLUCA_VENV) is reused while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")"
venv="${LOTLUCA_VENV:-.venv}"

python_311() {
    for cand in python3.11 python3 python; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$cand"; return 0
        fi
    done
    echo "lotluca needs Python 3.11 (python3.11 or python3 on PATH)" >&2
    return 1
}

ensure_env() {
    local py stamp want
    py="$(python_311)"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    stamp="$venv/.lotluca-install"
    want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -e ".[test]"
        echo "$want" >"$stamp"
    fi
    export PATH="$PWD/$venv/bin:$PATH"
}

cmd="${1:-}"
shift || true
case "$cmd" in
    study)
        ensure_env
        snakemake --cores 2 "$@"
        snakemake --report results/report.html >/dev/null 2>&1 || snakemake --report results/report.html
        echo "lotluca: study done. Report: $PWD/results/report.html ; tables and figures under $PWD/results/"
        ;;
    test)
        ensure_env
        pytest "$@"
        ;;
    *)
        echo "usage: bash run.sh study [snakemake args] | bash run.sh test [pytest args]" >&2
        exit 64
        ;;
esac
