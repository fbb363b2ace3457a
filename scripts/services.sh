#!/usr/bin/env bash
# Local test services for the payment Lambda: PostgreSQL + moto (DynamoDB,
# SNS, SQS, Secrets Manager: moto's server answers every service on one port).
#
#   scripts/services.sh start   install if missing, start both on free loopback
#                               ports, write .services/env (idempotent)
#   scripts/services.sh env     print the export lines (eval "$(... env)")
#   scripts/services.sh status  exit 0 when both are running
#   scripts/services.sh stop    stop both and delete their data
#
# Works as root with no stdin (CI): PostgreSQL then runs as the `postgres`
# system user (created by the Debian package). Nothing listens on anything but
# 127.0.0.1. The env file holds throw-away local credentials only.
#
# Like a fresh Aurora cluster, the superuser's credentials (`drgen`) are stored
# in a Secrets Manager secret (in moto, named by DB_MASTER_SECRET) for the
# migrate action. DB_USER/DB_PASSWORD are a separate login role `payment_app`
# (created here with a password, since local PostgreSQL has no IAM auth);
# `bootstrap migrate` grants it what the handler needs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC="$ROOT/.services"
ENV_FILE="$SVC/env"
MOTO_VERSION_SPEC='moto[server]>=5.1,<6'
# Secrets Manager secret with the superuser's credentials, and the app role.
MASTER_SECRET=aurora-master-local
APP_USER=payment_app

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    die "need root to run: $*"; fi
}

ensure_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "PostgreSQL server binaries missing: installing the Debian package 'postgresql'"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >/dev/null
  fi
  pg_bindir >/dev/null || die "no initdb under /usr/lib/postgresql/*/bin after install"
}

ensure_moto() {
  if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
    log "moto missing: pip install '$MOTO_VERSION_SPEC'"
    python3 -m pip install -q "$MOTO_VERSION_SPEC" </dev/null \
      || python3 -m pip install -q --break-system-packages "$MOTO_VERSION_SPEC" </dev/null
    python3 -c 'import moto.server' || die "moto still not importable"
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Run a PostgreSQL binary as the right user. As root: the 'postgres' user.
PG_USER=""
as_pg() {
  # cd / : the checkout may not be readable by the PostgreSQL user.
  if [ -n "$PG_USER" ]; then (cd / && runuser -u "$PG_USER" -- "$@"); else "$@"; fi
}

status() {
  [ -f "$ENV_FILE" ] || return 1
  [ -f "$SVC/pgroot" ] || return 1
  pid_alive "$SVC/moto.pid" || return 1
  local p
  p="$(head -n 1 "$(cat "$SVC/pgroot")/data/postmaster.pid" 2>/dev/null || true)"
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

start() {
  if status; then
    log "already running (see $ENV_FILE)"
    return 0
  fi
  # Leftovers from a crashed run.
  stop_quiet
  ensure_postgres
  ensure_moto
  mkdir -p "$SVC"

  local bindir pgport motoport pgpass apppass pgroot
  bindir="$(pg_bindir)"
  pgport="$(free_port)"
  motoport="$(free_port)"
  while [ "$motoport" = "$pgport" ]; do motoport="$(free_port)"; done
  pgpass="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  apppass="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"

  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    PG_USER=postgres
  fi
  # Data directory under .services/ when the PostgreSQL user can reach it,
  # otherwise a private temp dir (the path is recorded in .services/pgroot).
  pgroot="$SVC/pg"
  mkdir -p "$pgroot"
  if [ -n "$PG_USER" ]; then
    chown "$PG_USER" "$pgroot"
    if ! runuser -u "$PG_USER" -- test -w "$pgroot"; then
      rmdir "$pgroot"
      pgroot="$(mktemp -d /tmp/drgen-pg.XXXXXX)"
      chown "$PG_USER" "$pgroot"
    fi
  fi
  echo "$pgroot" >"$SVC/pgroot"
  chmod 700 "$pgroot"
  umask 077
  printf '%s\n' "$pgpass" >"$pgroot/pwfile"
  [ -n "$PG_USER" ] && chown "$PG_USER" "$pgroot/pwfile"

  log "initdb ($bindir) in $pgroot/data"
  as_pg "$bindir/initdb" -D "$pgroot/data" -U drgen --auth=scram-sha-256 \
    --pwfile="$pgroot/pwfile" -E UTF8 --no-locale >"$pgroot/initdb.log" 2>&1 </dev/null \
    || { cat "$pgroot/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pgroot/pwfile"
  log "starting PostgreSQL on 127.0.0.1:$pgport"
  as_pg "$bindir/pg_ctl" -D "$pgroot/data" -l "$pgroot/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories= -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null </dev/null \
    || { cat "$pgroot/postgres.log" >&2; die "PostgreSQL did not start"; }

  log "starting moto on 127.0.0.1:$motoport"
  # exec keeps the recorded PID equal to the server's PID.
  (cd "$SVC" && exec nohup python3 -m moto.server -H 127.0.0.1 -p "$motoport" \
      >"$SVC/moto.log" 2>&1 </dev/null) &
  echo $! >"$SVC/moto.pid"
  local i
  for i in $(seq 1 150); do
    if python3 - "$motoport" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
EOF
    then break; fi
    pid_alive "$SVC/moto.pid" || { cat "$SVC/moto.log" >&2; die "moto exited"; }
    sleep 0.2
  done
  [ "$i" -lt 150 ] || { cat "$SVC/moto.log" >&2; die "moto did not answer"; }

  # The master secret, as Terraform writes it on AWS (also proves that this
  # moto serves Secrets Manager). The password goes through the environment,
  # not the command line.
  log "storing the PostgreSQL superuser credentials in moto Secrets Manager ($MASTER_SECRET)"
  MOTO_URL="http://127.0.0.1:$motoport" MASTER_USER=drgen MASTER_PASSWORD="$pgpass" \
    MASTER_SECRET="$MASTER_SECRET" python3 - <<'EOF' >/dev/null 2>"$SVC/secret.log" \
    || { cat "$SVC/secret.log" >&2; die "moto Secrets Manager did not accept the master secret"; }
import json, os, boto3
sm = boto3.client("secretsmanager", endpoint_url=os.environ["MOTO_URL"], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing")
sm.create_secret(Name=os.environ["MASTER_SECRET"],
                 SecretString=json.dumps({"username": os.environ["MASTER_USER"],
                                          "password": os.environ["MASTER_PASSWORD"]}))
value = json.loads(sm.get_secret_value(SecretId=os.environ["MASTER_SECRET"])["SecretString"])
assert value["username"] == os.environ["MASTER_USER"]
EOF

  # The application login role (on Aurora: created by migrate, IAM auth).
  log "creating the application role $APP_USER"
  PGPASSWORD="$pgpass" "$bindir/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pgport" \
    -U drgen -d postgres -c "CREATE ROLE $APP_USER LOGIN PASSWORD '$apppass'" </dev/null >/dev/null \
    || die "could not create the role $APP_USER"

  cat >"$ENV_FILE" <<EOF
# Written by scripts/services.sh: local test services (throw-away credentials).
export PGHOST=127.0.0.1
export PGPORT=$pgport
export PGUSER=drgen
export PGPASSWORD=$pgpass
export PGDATABASE=postgres
export DB_HOST=127.0.0.1
export DB_PORT=$pgport
export DB_USER=$APP_USER
export DB_PASSWORD=$apppass
export DB_NAME=postgres
export DB_SSLMODE=disable
export DB_MASTER_SECRET=$MASTER_SECRET
export DYNAMODB_ENDPOINT_URL=http://127.0.0.1:$motoport
export SNS_ENDPOINT_URL=http://127.0.0.1:$motoport
export SECRETSMANAGER_ENDPOINT_URL=http://127.0.0.1:$motoport
export MOTO_ENDPOINT_URL=http://127.0.0.1:$motoport
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
EOF
  log "ready; settings in $ENV_FILE"
}

stop_quiet() {
  if [ -f "$SVC/moto.pid" ]; then
    local p; p="$(cat "$SVC/moto.pid")"
    if kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      # moto does not always exit on SIGTERM while connections are open.
      for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$SVC/moto.pid"
  fi
  if [ -f "$SVC/pgroot" ]; then
    local pgroot bindir
    pgroot="$(cat "$SVC/pgroot")"
    bindir="$(pg_bindir || true)"
    if [ -f "$pgroot/data/postmaster.pid" ]; then
      [ "$(id -u)" -eq 0 ] && PG_USER=postgres
      if [ -n "$bindir" ]; then
        as_pg "$bindir/pg_ctl" -D "$pgroot/data" -m immediate -w -t 30 stop >/dev/null 2>&1 </dev/null || true
      fi
      local p; p="$(head -n 1 "$pgroot/data/postmaster.pid" 2>/dev/null || true)"
      if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
    fi
    case "$pgroot" in
      "$SVC"/*|/tmp/drgen-pg.*) rm -rf "$pgroot" ;;
    esac
    rm -f "$SVC/pgroot"
  fi
  rm -f "$ENV_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_quiet; log "stopped" ;;
  env) [ -f "$ENV_FILE" ] || die "services are not running: run scripts/services.sh start"; cat "$ENV_FILE" ;;
  status) if status; then log "running"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
