#!/bin/sh
# Runs one libFuzzer target for a bounded time: new inputs and any crash go
# to a scratch directory in the build tree, the seeds are only read.
# Usage: run-fuzz.sh TARGET SEED_DIR SCRATCH_DIR SECONDS
set -u
target=$1 seeds=$2 scratch=$3 seconds=$4
mkdir -p "$scratch/corpus" || exit 1
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/" -print_final_stats=1 "$scratch/corpus" "$seeds"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "run-fuzz.sh: $target failed (exit $rc); the input is in $scratch/" >&2
    exit 1 # not 77, which meson would read as "skipped"
fi
