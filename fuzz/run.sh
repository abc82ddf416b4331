#!/usr/bin/env bash
# Run the cargo-fuzz targets one after the other and print, for each, the executions, the time, the
# coverage libFuzzer reached and what it found.
#
#   fuzz/run.sh [-t SECONDS] [-n RUNS] [TARGET...]
#
# Each target runs until RUNS executions (default 10 million) or SECONDS (default 1200) have passed,
# whichever comes first, in one libFuzzer job (-jobs=1: a crash is saved and fuzzing goes on), under
# `nice`. No TARGET: all of them. The corpus grows in fuzz/corpus/TARGET, crashes land in
# fuzz/artifacts/TARGET, logs in fuzz/logs/TARGET. Needs the nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz`). Extra libFuzzer flags: FUZZ_FLAGS.
set -euo pipefail

seconds=1200
runs=10000000
while getopts "t:n:" opt; do
    case "$opt" in
        t) seconds="$OPTARG" ;;
        n) runs="$OPTARG" ;;
        *) echo "usage: $0 [-t SECONDS] [-n RUNS] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# Release with debug assertions: overflows and failed invariants crash instead of passing quietly.
nice -n 10 cargo +nightly fuzz build --debug-assertions
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
bin_dir="${CARGO_TARGET_DIR:-$here/target}/$triple/release"

printf '%-14s %12s %8s %8s %8s %8s %s\n' target executions seconds cov ft corpus found
status=0
for target in "${targets[@]}"; do
    corpus="$here/corpus/$target"
    artifacts="$here/artifacts/$target"
    logs="$here/logs/$target"
    mkdir -p "$corpus" "$artifacts" "$logs"
    rm -f "$logs"/fuzz-*.log
    before=$(find "$artifacts" -type f | wc -l)
    # -jobs=1 runs one worker process logging to fuzz-0.log in the current directory.
    (cd "$logs" && nice -n 10 "$bin_dir/$target" "$corpus" \
        -jobs=1 -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_FLAGS:-} >"$logs/run.out" 2>&1) || true
    log="$logs/fuzz-0.log"
    [ -f "$log" ] || log="$logs/run.out"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    after=$(find "$artifacts" -type f | wc -l)
    found=$((after - before))
    [ "$found" -eq 0 ] || status=1
    printf '%-14s %12s %8s %8s %8s %8s %s\n' "$target" "${execs:-?}" "${secs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$found"
done
exit $status
