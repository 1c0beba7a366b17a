#!/usr/bin/env bash
# Install a headless Chromium + its WebDriver (Debian packages) and the selenium client into
# the project venv, for the live web-page test (tests/test_web.py, marker `browser`).
# Idempotent and never fatal: CI must still run the other tests where this cannot install,
# and the browser test then skips itself (saying which piece is missing). Every step has a
# time limit so a stuck mirror or apt lock cannot hang CI either.
# Needs the venv first (`make .venv/.installed`); PYTHON=... points it at another one.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
LOG="$(mktemp -t install-browser.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

warn() { echo "install-browser: warning: $*" >&2; }
# The last lines of a failed step's output: enough to see why, without apt's noise on success.
show_log() { tail -n 5 "$LOG" | sed 's/^/install-browser:   /' >&2; }

have_browser() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

if ! have_browser; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
    fi
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        warn "not root and no passwordless sudo: cannot apt-get install chromium"
    elif ! command -v apt-get >/dev/null 2>&1; then
        warn "no apt-get here: install chromium and chromedriver yourself"
    else
        export DEBIAN_FRONTEND=noninteractive
        APT_OPTS=(-o DPkg::Lock::Timeout=120 -o Acquire::Retries=2 -o Acquire::http::Timeout=60)
        if ! timeout 300 $SUDO apt-get "${APT_OPTS[@]}" update -qq >"$LOG" 2>&1; then
            warn "apt-get update failed"; show_log
        fi
        # chromium-driver is Debian's chromedriver (/usr/bin/chromedriver), same version.
        if ! timeout 900 $SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
                chromium chromium-driver >"$LOG" 2>&1; then
            warn "apt-get install chromium chromium-driver failed"; show_log
        fi
    fi
fi

if [ -x "$PY" ]; then
    if ! "$PY" -c "import selenium" >/dev/null 2>&1; then
        if ! timeout 300 "$PY" -m pip install --quiet "selenium>=4.10" >"$LOG" 2>&1; then
            warn "pip install selenium failed"; show_log
        fi
    fi
    if "$PY" -c "import selenium" >/dev/null 2>&1; then
        echo "install-browser: selenium $("$PY" -c 'import selenium; print(selenium.__version__)')"
    fi
else
    warn "$PY not found: run 'make .venv/.installed' first to create the venv, then rerun this"
fi

if have_browser && timeout 60 chromium --headless=new --no-sandbox --version >/dev/null 2>&1; then
    echo "install-browser: $(chromium --version 2>/dev/null | head -1); chromedriver at $(command -v chromedriver)"
else
    warn "chromium/chromedriver not available or not starting; the browser test will be skipped"
fi
exit 0
