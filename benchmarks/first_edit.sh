#!/bin/sh
# The first `check FILE` after a cold `check .` (issue 32's pre-commit row, as
# benchmarks/README.md "speed66", "speed68" and "speed70" measure it).
#
#   first_edit.sh fill ROOT SRC            # the cold run that makes the cache, kept aside as ROOT.cache
#   first_edit.sh edit ROOT FILE SRC       # that cache put back, a function appended to FILE,
#                                          # `poolsafe check --exit-zero --format json FILE`, FILE restored
#
# ROOT: a code base unpacked as scale.py's `fetch` does (one copy per poolsafe version:
# a snapshot is named by the file's absolute path); SRC: the poolsafe `src` to run.
# Time the edit row as a whole process, A and B in turn (`/usr/bin/time`, or hyperfine).
set -e
PY=${PYTHON:-python}
case $1 in
fill)
    # poolsafe's bytecode written first, as a wheel's install has it (an editable
    # install under PYTHONDONTWRITEBYTECODE=1 compiles 4.5 MB of source in each run)
    env -u PYTHONDONTWRITEBYTECODE $PY -m compileall -q "$3" > /dev/null
    cd "$2" && rm -rf .poolsafe_cache
    PYTHONSAFEPATH=1 PYTHONPATH=$3 $PY -m poolsafe check --exit-zero --format json .
    rm -rf "$2.cache" && cp -a "$2/.poolsafe_cache" "$2.cache" ;;
edit)
    cd "$2" && rm -rf .poolsafe_cache && cp -al "$2.cache" .poolsafe_cache
    saved=$(mktemp) && cp "$3" "$saved"
    printf '\n\ndef _poolsafe_bench_edit_%s():\n    return 1\n' $$ >> "$3"
    rc=0
    PYTHONSAFEPATH=1 PYTHONPATH=$4 $PY -m poolsafe check --exit-zero --format json "$3" || rc=$?
    cp "$saved" "$3" && rm -f "$saved"
    exit $rc ;;
*)
    echo "usage: $0 fill ROOT SRC | edit ROOT FILE SRC" >&2; exit 2 ;;
esac
