#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the real services the tests use, checks formatting
# and lints, then runs every test. Tests that need a missing binary fail here instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
scripts/install-test-deps.sh
echo ">> cargo fmt --check"
cargo fmt --all -- --check
echo ">> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo ">> cargo test"
cargo test
