#!/usr/bin/env bash
# One benchmark report, every figure from one run on one machine (issue 7): builds every bench
# once, then runs them one after the other and writes their output to one log with the machine
# and the start/end time of each part.
#
#   benches/report.sh [LOG]          (default target/bench-report.log)
#
# Needs: wrk (apt-get install wrk) for panel_load, python3 with venv for the aiogram comparison
# (benches/aiogram/run.sh installs aiogram from PyPI). Takes 30–40 minutes plus the build.
# Knobs of the single benches (HELPDESK_BENCH_SECS, SNAP_BENCH_SECS, …) pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
log="${1:-target/bench-report.log}"
mkdir -p "$(dirname "$log")"
: >"$log"

say() { echo "$*" | tee -a "$log"; }

say "# helpdesk benchmark report"
say "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
say "machine: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "rustc: $(rustc --version)"

say ""
benches=(--bench store --bench faq --bench panel_load --bench bot_updates --bench snapshot_load --bench import_memory)
say "== build (cargo bench --no-run ${benches[*]})"
cargo bench --no-run "${benches[@]}" 2>&1 | tail -n 3 | tee -a "$log"

run() {
  local name="$1"
  shift
  say ""
  say "== $name: $* (from $(date -u '+%H:%M:%S'), load $(cut -d' ' -f1 /proc/loadavg))"
  "$@" 2>&1 | tee -a "$log"
  say "== $name: done $(date -u '+%H:%M:%S')"
}

run store cargo bench --bench store
run faq cargo bench --bench faq
run panel_load cargo bench --bench panel_load
run bot_updates cargo bench --bench bot_updates
run bot_updates_aiogram env BOT_BENCH_TARGET=aiogram cargo bench --bench bot_updates
run snapshot_load cargo bench --bench snapshot_load
run import_memory cargo bench --bench import_memory

say ""
say "finished: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
