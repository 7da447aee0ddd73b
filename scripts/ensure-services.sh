#!/usr/bin/env bash
# Starts PostgreSQL and MariaDB on loopback when they are not running (the machine starts them
# before a session; a CI run after a restart may find them stopped).
set -uo pipefail
wait_for() {
  local name=$1 check=$2
  for _ in $(seq 1 60); do
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "error: $name did not come up on loopback; start it by hand and run make test again" >&2
  return 1
}
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for PostgreSQL "pg_isready -h 127.0.0.1 -p 5432 -q" || exit 1
fi
if ! mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_for MariaDB "mariadb-admin -h 127.0.0.1 -P 3306 -u root ping" || exit 1
fi
exit 0
