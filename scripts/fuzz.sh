#!/usr/bin/env bash
# Fuzzes slowburn's parsers of outside input with cargo fuzz (libFuzzer) on the nightly
# toolchain: the config loader and validator, the store's chunk codec, outbox entries and
# silence JSON, Prometheus and Loki answers. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]
# (default 60 s, every target). Crashes are saved
# under fuzz/artifacts/<target>/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
shift || true
TARGETS=("$@")
ALL=0
if [ "${#TARGETS[@]}" -eq 0 ]; then
  ALL=1
  TARGETS=(config chunk_codec outbox_entry silence_json prometheus_answer loki_answer)
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "!! the nightly toolchain is missing (cargo fuzz needs it): rustup toolchain install nightly"; exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Build every target first, in one cargo run when all are fuzzed (the binaries compile and link
# in parallel instead of one between each run); `cargo fuzz run` below then finds them built, as
# both use cargo fuzz's same default flags (release, debug assertions, AddressSanitizer).
echo ">> building the fuzz targets"
if [ "$ALL" -eq 1 ]; then
  cargo +nightly fuzz build
else
  for t in "${TARGETS[@]}"; do cargo +nightly fuzz build "$t"; done
fi
for t in "${TARGETS[@]}"; do
  echo ">> fuzzing $t for ${SECS}s"
  # The working corpus grows in fuzz/corpus/<target>; committed seeds (valid inputs the fuzzer
  # would take long to find) are read from fuzz/seeds/<target> when present.
  mkdir -p "fuzz/corpus/$t"
  dirs=("fuzz/corpus/$t")
  if [ -d "fuzz/seeds/$t" ]; then dirs+=("fuzz/seeds/$t"); fi
  cargo +nightly fuzz run "$t" "${dirs[@]}" -- -max_total_time="$SECS" -rss_limit_mb=2048 2>&1 \
    | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
  if ls "fuzz/artifacts/$t"/crash-* >/dev/null 2>&1; then
    echo "!! $t crashed: fuzz/artifacts/$t"; exit 1
  fi
done
