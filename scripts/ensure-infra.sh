#!/usr/bin/env bash
# Make sure RabbitMQ (and, with --postgres or DATABASE_URL, PostgreSQL) answer on 127.0.0.1.
# Order of preference: already up; installed but stopped -> start it; a Docker engine -> docker compose;
# otherwise install the Debian packages and start them.
# --browser: Debian's chromium for the portal's browser tests (tests/e2e/portal/), and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pg=0
[ "${1:-}" = "--postgres" ] && want_pg=1
[[ "${DATABASE_URL:-}" == postgres* ]] && want_pg=1

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Something listening is not enough: the port must answer as the server we need.
rabbitmq_answers() {  # an AMQP 0-9-1 protocol header gets a Connection.Start frame (type 1, channel 0)
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\x00\x00\x09\x01" >&3 &&
    [ "$(head -c 3 <&3 | od -An -tx1 | tr -d " \n")" = 010000 ]' 2>/dev/null
}
postgres_answers() {  # pg_isready, or an SSLRequest answered with S or N
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p 5432; return; fi
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432 && printf "\x00\x00\x00\x08\x04\xd2\x16\x2f" >&3 &&
    [[ "$(head -c 1 <&3)" == [SN] ]]' 2>/dev/null
}
up() {  # port: ready when it answers as its server; refuse a port held by something else
  local check=rabbitmq_answers name=RabbitMQ
  [ "$1" = 5432 ] && check=postgres_answers name=PostgreSQL
  $check && return 0
  if listening "$1"; then
    echo "ensure-infra: port $1 is held by something that is not $name: stop it (or point the settings elsewhere)" >&2
    exit 1
  fi
  return 1
}
wait_for() {  # port name
  for _ in $(seq 1 60); do up "$1" && return 0; sleep 1; done
  echo "ensure-infra: $2 did not come up on port $1" >&2; return 1
}
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
has_docker_engine() { command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -qq
  sudo_ apt-get install -y -qq "$@" >/dev/null
}

ensure_rabbitmq() {
  up 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null && ! [ -x /usr/sbin/rabbitmq-server ]; then
    if has_docker_engine; then docker compose up -d rabbitmq; wait_for 5672 RabbitMQ; return; fi
    echo "ensure-infra: installing rabbitmq-server (Debian package)"
    apt_install rabbitmq-server
  fi
  # the tests create their vhosts through the management API when rabbitmqctl needs root (Debian leaves it off)
  sudo_ rabbitmq-plugins enable --offline rabbitmq_management >/dev/null || true
  echo "ensure-infra: starting RabbitMQ"
  sudo_ rabbitmq-server -detached || sudo_ service rabbitmq-server start || true
  wait_for 5672 RabbitMQ
  sudo_ rabbitmqctl await_startup >/dev/null 2>&1 || true
}

ensure_postgres() {
  up 5432 && return 0
  local fresh=0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if has_docker_engine; then docker compose up -d postgres; wait_for 5432 PostgreSQL; return; fi
    echo "ensure-infra: installing postgresql (Debian package)"
    apt_install postgresql
    fresh=1
  fi
  echo "ensure-infra: starting PostgreSQL"
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  sudo_ pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || sudo_ service postgresql start
  wait_for 5432 PostgreSQL
  if [ "$fresh" = 1 ]; then  # the tests log in over TCP as postgres/postgres
    sudo_ su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
}

if [ "${1:-}" = "--browser" ]; then  # the portal's browser tests: Debian's chromium (Playwright cannot download one)
  # a CJK font too, so that screenshots (scripts/portal_screenshots.py) show Chinese, not boxes
  { command -v chromium && fc-list :lang=zh | grep -q .; } >/dev/null 2>&1 || {
    echo "ensure-infra: installing chromium and fonts-wqy-microhei (Debian packages)"; apt_install chromium fonts-wqy-microhei; }
  exit 0
fi
if [ "${1:-}" = "--python-venv" ]; then  # Debian splits venv/ensurepip out of python3
  apt_install python3-venv python3.11-venv
  exit 0
fi
ensure_rabbitmq
[ "$want_pg" = 1 ] && ensure_postgres
exit 0
