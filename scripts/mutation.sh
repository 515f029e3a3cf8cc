#!/usr/bin/env bash
# Mutation testing of spec.py, render/, providers/hetzner/, ops/ and apps/ with mutmut
# (configuration: [tool.mutmut] in pyproject.toml; docs/testing.md explains the figures).
#
#   scripts/mutation.sh            fresh run: drop mutants/, mutate, test, summarise
#   scripts/mutation.sh --resume   keep mutants/ and test only what is not yet decided
#   scripts/mutation.sh --survivors  after changing tests: re-test only the mutants not yet killed
#   scripts/mutation.sh --report   summarise the results already in mutants/
#
# MUTATION_WORKERS (default 1) mutants are tested at a time. Not run in CI: too slow.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-fresh}
case "$mode" in
fresh | --resume | --survivors | --report) ;;
*) echo "usage: scripts/mutation.sh [--resume | --survivors | --report]" >&2; exit 2 ;;
esac

venv=${VIRTUAL_ENV:-.venv}
py=$venv/bin/python
if [[ ! -x $py ]]; then
    echo "error: no virtualenv at $venv; create it: python3 -m venv .venv && .venv/bin/pip install -e '.[test]'" >&2
    exit 2
fi
if ! "$py" -c 'import mutmut' 2>/dev/null; then
    # Only the tool, from the `mutation` extra: reinstalling the project would change how it is installed.
    mapfile -t reqs < <("$py" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["mutation"], sep="\n")')
    "$py" -m pip install -q "${reqs[@]}"
fi

# The tests run inside mutants/, so ../shared/reference no longer resolves from there.
if [[ -z ${CLUSTERCTL_PY_REFERENCE:-} && -d ../shared/reference ]]; then
    export CLUSTERCTL_PY_REFERENCE=$PWD/../shared/reference
fi
if [[ -z ${CLUSTERCTL_PY_REFERENCE:-} ]]; then
    echo "warning: no ../shared/reference and CLUSTERCTL_PY_REFERENCE unset: conformance tests skip, fewer mutants die" >&2
fi

if ! command -v cloud-init >/dev/null; then
    echo "warning: cloud-init not installed (Debian package, as in .ci/run): its schema tests skip, fewer mutants die" >&2
fi

if [[ $mode != --report ]]; then
    [[ $mode == fresh ]] && rm -rf mutants
    names=()
    if [[ $mode == --survivors ]]; then
        # mutmut keeps which tests run which function in mutmut-stats.json and does not
        # notice new tests: without this, a new test is never run against old survivors.
        rm -f mutants/mutmut-stats.json
        mapfile -t names < <("$venv/bin/mutmut" results | sed -nE 's/^ *([^ ]+): (survived|no tests)$/\1/p')
        if ((${#names[@]} == 0)); then
            echo "no surviving mutants in mutants/ to re-test" >&2
            exit 0
        fi
        echo "re-testing ${#names[@]} mutants"
    fi
    start=$SECONDS
    if ! "$venv/bin/mutmut" run --max-children "${MUTATION_WORKERS:-1}" "${names[@]}"; then
        echo "error: mutmut run failed; its output is above" >&2
        exit 1
    fi
    echo "mutation run: $((SECONDS - start)) s"
fi

"$py" scripts/mutation_report.py --results mutants/results.txt --survivors mutants/survivors.txt
echo "every mutant: mutants/results.txt; diffs of those not killed: mutants/survivors.txt"
