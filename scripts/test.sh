#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the real services the tests use, checks formatting
# and lints, checks the deploy files (scripts/check-deploy.sh), runs every test once under line
# coverage with a floor (scripts/coverage.sh), then a short smoke of every fuzz target (cargo fuzz on nightly).
# Tests that need a missing binary fail here instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
scripts/install-test-deps.sh
echo ">> cargo fmt --check"
cargo fmt --all -- --check
echo ">> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo ">> what ships besides the binary: Dockerfile, workflows, compose stack, Kubernetes, systemd"
scripts/check-deploy.sh
echo ">> cargo test, under coverage (scripts/coverage.sh fails below the floor in .ci/coverage-min)"
scripts/coverage.sh
echo ">> fuzz smoke: every target for ${FUZZ_SMOKE_SECS:-10} s (scripts/fuzz.sh runs them longer)"
scripts/fuzz.sh "${FUZZ_SMOKE_SECS:-10}"
