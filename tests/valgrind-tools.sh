#!/bin/sh
# Runs every tool once under valgrind, against llm-mock (itself under
# valgrind), with failing requests among them: any memory error or leak fails.
# Usage: valgrind-tools.sh TOOLS_DIR
set -u
tools=$(cd "$1" && pwd) || exit 1
work=$(mktemp -d /tmp/llmb_vg_XXXXXX)
vg="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet"
mock_pid=
failed=0
cleanup() {
    if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work" || exit 1

check() { # NAME EXIT_CODE ALLOWED...
    name=$1 rc=$2
    shift 2
    for ok in "$@"; do
        [ "$rc" = "$ok" ] && return 0
    done
    echo "valgrind-tools: $name exited $rc (99 means valgrind found errors)" >&2
    failed=1
}

$vg "$tools/llm-mock" --port 0 --ttft-ms 20 --itl-ms 5 --fault status --fault-every 3 \
    > mock.out 2> mock.err &
mock_pid=$!
url=
for _ in $(seq 1 1000); do
    url=$(sed -n 's/.*listening on //p' mock.out 2>/dev/null)
    [ -n "$url" ] && break
    sleep 0.02
done
[ -n "$url" ] || { echo "valgrind-tools: llm-mock did not start" >&2; cat mock.err >&2; exit 1; }

$vg "$tools/llm-seq" --base-url "$url" --requests 3 --delay 0 --max-tokens 4 \
    --summary seq.json > /dev/null 2> seq.err
check llm-seq $? 1
$vg "$tools/llm-seq" --base-url "$url" --requests 3 --delay 0 --max-tokens 4 \
    --transport libcurl --output seq-curl.csv > /dev/null 2> seq-curl.err
check "llm-seq over libcurl" $? 1
$vg "$tools/llm-conc" --base-url "$url" --rate 20 --requests 6 --max-tokens 4 --threads 2 \
    --trace t.jsonl --summary conc.json --output conc.csv > /dev/null 2> conc.err
check llm-conc $? 1
$vg "$tools/llm-conc" --base-url "$url" --sweep-concurrency 1,2 --requests 3 --max-tokens 2 \
    --retries 1 --output sweep-results.csv > /dev/null 2> sweep.err
check "llm-conc sweep" $? 0 1
$vg "$tools/llm-seq" --base-url http://127.0.0.1:1/v1 --model m --requests 1 \
    --output refused.csv > /dev/null 2> refused.err
check "llm-seq refused" $? 1
$vg "$tools/llm-graph" conc.csv -o g.png > /dev/null 2> graph.err
check llm-graph $? 0
printf 'request,time_taken_s,prompt_tokens,generated_tokens,tokens_per_s\n1,x\n' > bad.csv
$vg "$tools/llm-graph" bad.csv -o bad.png > /dev/null 2> graph-bad.err
check "llm-graph bad csv" $? 1
$vg "$tools/llm-conc" --rate 0 > /dev/null 2> usage.err
check "llm-conc usage error" $? 2

kill -TERM "$mock_pid"
wait "$mock_pid"
check llm-mock $? 0
mock_pid=
if [ "$failed" -ne 0 ]; then
    for f in *.err; do echo "== $f" >&2; cat "$f" >&2; done
    exit 1
fi
echo "valgrind-tools: every tool ran clean under valgrind"
