#!/bin/sh
# Installs Debian's chromium when it is missing: Vapora's board is tested in a
# real headless browser (chromedp, localstack/e2e).
set -e
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	exit 0
fi
echo "installing chromium from Debian's packages…"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
