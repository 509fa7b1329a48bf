#!/usr/bin/env bash
# Install Debian's Chromium for the portal's Playwright browser tests (tests/portal/test_browser.py).
#
# Why Debian's package: only package registries are reachable here and on CI, so Playwright's own
# browser download cannot work; Playwright drives /usr/bin/chromium through `executable_path`.
# Skips when Chromium is already there; refuses quietly (exit 0 with a message) when not root, so a
# developer machine without sudo simply skips the browser tests instead of failing the build.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(command -v chromium)"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "not root: cannot apt-get install chromium; the browser tests will skip" >&2
    exit 0
fi
# Services must not start inside a container/CI while packages install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
command -v chromium
