#!/bin/sh
# First start: makes the cluster in $PGDATA with the user, password and database of POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB (the password reaches initdb in a file, never on a command line);
# other hosts must use a password (scram-sha-256). Then runs PostgreSQL in the foreground as PID 1.
set -eu
user="${POSTGRES_USER:-ferry}"
db="${POSTGRES_DB:-ferry}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  [ "$db" = postgres ] || createdb -U "$user" -O "$user" "$db"
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "made the cluster in $PGDATA with database $db for $user"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
