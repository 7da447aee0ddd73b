#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to, once: the dump tools and clients of
# PostgreSQL and MariaDB, zstd for the raw-pipe benchmarks, Prometheus and its pushgateway,
# redis-server (the fleet tests run a broker of their own, to stop and restart it), and Chromium
# for the dashboard's browser tests (Playwright drives it; it never downloads a browser).
# restic is the anchor of the files-store benchmark (benchmarks/bench_files.py); faketime makes
# one backup with a wrong clock (issue 9); mydumper (mydumper and myloader) is the anchor of the
# MariaDB benchmarks (benchmarks/bench_dump.py, issue 12). gcc and python3-dev build the C row
# reader of PostgreSQL digests (src/backproof/_native) when `make install` runs after this.
set -euo pipefail
packages=(gcc python3-dev zstd postgresql-client mariadb-client mydumper prometheus prometheus-pushgateway redis-server chromium restic faketime)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packaged services must not start on their own: the tests start their own instances.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
