#!/usr/bin/env bash
# Install a headless Chromium + its WebDriver (Debian packages) and the selenium client into
# the project venv, for the live web-page test (tests/test_web.py, marker `browser`).
# Idempotent and never fatal: CI must still run the other tests where this cannot install,
# and the browser test then skips itself.
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

warn() { echo "install-browser: warning: $*" >&2; }

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
        $SUDO apt-get update -qq >/dev/null 2>&1 || warn "apt-get update failed"
        $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
            >/dev/null 2>&1 || warn "apt-get install chromium chromium-driver failed"
    fi
fi

if [ -x "$PY" ]; then
    if ! "$PY" -c "import selenium" >/dev/null 2>&1; then
        "$PY" -m pip install --quiet "selenium>=4.10" || warn "pip install selenium failed"
    fi
else
    warn "$PY not found: run 'make' first to create the venv, then rerun this script"
fi

if have_browser; then
    echo "install-browser: $(chromium --version 2>/dev/null | head -1); chromedriver at $(command -v chromedriver)"
else
    warn "chromium/chromedriver not available; the browser test will be skipped"
fi
exit 0
