#!/bin/sh
# Installs tmux from Debian's packages when it is missing: the TUI of
# `stratum form tui` is tested in a real terminal (cmd/stratum, tmux send-keys).
set -e
if command -v tmux >/dev/null 2>&1; then
	exit 0
fi
echo "installing tmux from Debian's packages…"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tmux >/dev/null
