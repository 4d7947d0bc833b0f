#!/usr/bin/env bash
# Installs what slowburn's tests and demo need on Debian: Prometheus and promtool (Debian's
# `prometheus` package). Idempotent; uses sudo when not root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo ">> installing Debian's prometheus package (prometheus + promtool)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
prometheus --version 2>&1 | head -1
