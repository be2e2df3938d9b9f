#!/bin/sh
# install-debian.sh PACKAGE [COMMAND…]: installs PACKAGE from Debian's
# packages when none of the COMMANDs (default: PACKAGE) is on PATH. The tests
# need chromium (Vapora's board and TypeDialog's page in a real headless
# browser, chromedp) and tmux (`stratum form tui` driven in a real terminal).
set -e
pkg=$1
[ -n "$pkg" ] || { echo "usage: install-debian.sh PACKAGE [COMMAND…]" >&2; exit 2; }
shift
[ $# -gt 0 ] || set -- "$pkg"
for cmd in "$@"; do
	if command -v "$cmd" >/dev/null 2>&1; then
		exit 0
	fi
done
echo "installing $pkg from Debian's packages…"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
