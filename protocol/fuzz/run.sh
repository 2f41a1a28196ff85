#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600) and prints each
# target's final libFuzzer line (runs, time) and any crash. Needs cargo-fuzz:
#   cargo install cargo-fuzz
# Stable Rust is enough with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Zsanitizer).
set -u
cd "$(dirname "$0")"
seconds=${1:-600}
targets=${TARGETS:-$(RUSTC_BOOTSTRAP=1 cargo fuzz list)}
mkdir -p logs
for t in $targets; do
  mkdir -p "corpus/$t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    > "logs/$t.log" 2>&1
  status=$?
  runs=$(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}')
  crashes=$(ls artifacts/"$t" 2>/dev/null | grep -c -E '^(crash|oom|leak|timeout)-' || true)
  echo "$t: exit=$status executions=${runs:-?} seconds=$seconds artifacts=$crashes"
done
