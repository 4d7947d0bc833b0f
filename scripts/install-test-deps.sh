#!/usr/bin/env bash
# Installs what slowburn's tests and demo need on Debian: Prometheus and promtool (Debian's
# `prometheus` package), Alertmanager (`prometheus-alertmanager`), curl, and the aiosmtpd SMTP
# server (pip). Idempotent; uses sudo when not root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || PKGS+=(prometheus)
command -v curl >/dev/null || PKGS+=(curl)
command -v prometheus-alertmanager >/dev/null || PKGS+=(prometheus-alertmanager)
if [ "${#PKGS[@]}" -gt 0 ]; then
  echo ">> installing Debian packages: ${PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
fi
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo ">> installing aiosmtpd (pip)"
  # A system Python that is "externally managed" (PEP 668) needs the explicit override.
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore aiosmtpd 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --break-system-packages aiosmtpd
fi
prometheus --version 2>&1 | head -1
prometheus-alertmanager --version 2>&1 | head -1
python3 -c "import aiosmtpd; print('aiosmtpd', aiosmtpd.__version__)"
