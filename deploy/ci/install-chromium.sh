#!/usr/bin/env bash
# Install headless Chromium from Debian's packages for tests/test_console.py, idempotently.
#
# The console test renders /console in a real browser (`chromium --headless --dump-dom`). Without one it
# skips, except under ORDERD_REQUIRE_BROWSER=1, which .ci/run sets after calling this: there it fails. chromium-driver comes along for
# anyone who wants to drive the page with WebDriver; the test itself does not need it. A font is
# installed explicitly because a minimal image has none and screenshots would show empty boxes.
# Called by .ci/run; safe to run again (does nothing when chromium is there).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null || echo '?')"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium.sh: must run as root to apt-get install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the package lists do not know chromium yet (a fresh machine).
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "chromium installed: $(chromium --version)"
