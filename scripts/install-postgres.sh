#!/bin/sh
# Installs PostgreSQL's server binaries from Debian's packages when they are
# missing; the tests start throw-away clusters of their own (localstack/postgres).
set -e
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	exit 0
fi
echo "installing PostgreSQL from Debian's packages…"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# The package may start a cluster of its own on port 5432; the tests do not use it.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
