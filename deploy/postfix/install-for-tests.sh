#!/usr/bin/env bash
# Install Postfix from Debian's packages for tests/test_postfix.py, idempotently.
#
# Nothing is configured or started here: the package's own configuration is skipped ("No
# configuration") and the test runs its own instance with `postfix -c DIR`, so the machine's mail
# setup stays untouched. Called by .ci/run; safe to run again (does nothing when postfix is there).
set -euo pipefail

if command -v postfix >/dev/null 2>&1 && command -v postqueue >/dev/null 2>&1; then
    echo "postfix already installed: $(postconf -d -h mail_version 2>/dev/null || echo '?')"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-for-tests.sh: must run as root to apt-get install postfix" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Preseed the installer's questions so it neither prompts nor writes a main.cf of its own.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string orderd-ci.invalid" | debconf-set-selections

# apt-get update only when the package lists do not know postfix yet (a fresh machine).
if ! apt-cache show postfix >/dev/null 2>&1; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends postfix >/dev/null

# Debian's package may start the system instance through its init script; the tests never use it.
if command -v postfix >/dev/null 2>&1 && [ -f /etc/postfix/main.cf ]; then
    postfix stop >/dev/null 2>&1 || true
fi
echo "postfix installed: $(postconf -d -h mail_version)"
