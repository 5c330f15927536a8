#!/usr/bin/env bash
# Make sure RabbitMQ (and, with --postgres or DATABASE_URL, PostgreSQL) answer on 127.0.0.1.
# Order of preference: already up; installed but stopped -> start it; a Docker engine -> docker compose;
# otherwise install the Debian packages and start them.
# --browser: Debian's chromium for the portal's browser tests (tests/e2e/portal/), and nothing else.
#
# YISHI_INSTALL_INFRA says how far it may go (`--install` is YISHI_INSTALL_INFRA=1, `--check` is 0):
#   unset  start what is installed, install what is missing (docker compose when a Docker engine runs)
#   1      the same, but install the Debian packages even where a Docker engine runs
#   0      touch nothing: check, and say what is missing and how to install it
# YISHI_RABBITMQ_PORT / YISHI_POSTGRES_PORT (5672 / 5432) name the ports checked.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pg=0 venv=0 browser=0 install="${YISHI_INSTALL_INFRA:-}"
for arg in "$@"; do
  case "$arg" in
    --postgres) want_pg=1 ;;
    --python-venv) venv=1 ;;
    --browser) browser=1 ;;
    --install) install=1 ;;
    --check) install=0 ;;
    *) echo "ensure-infra: unknown option $arg (--postgres, --install, --check, --python-venv, --browser)" >&2; exit 2 ;;
  esac
done
case "$install" in ""|0|1) ;; *) echo "ensure-infra: YISHI_INSTALL_INFRA must be 0 or 1, not $install" >&2; exit 2 ;; esac
[[ "${DATABASE_URL:-}" == postgres* ]] && want_pg=1
RABBITMQ_PORT="${YISHI_RABBITMQ_PORT:-5672}"
POSTGRES_PORT="${YISHI_POSTGRES_PORT:-5432}"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Something listening is not enough: the port must answer as the server we need.
rabbitmq_answers() {  # an AMQP 0-9-1 protocol header gets a Connection.Start frame (type 1, channel 0)
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$RABBITMQ_PORT"' && printf "AMQP\x00\x00\x09\x01" >&3 &&
    [ "$(head -c 3 <&3 | od -An -tx1 | tr -d " \n")" = 010000 ]' 2>/dev/null
}
postgres_answers() {  # pg_isready, or an SSLRequest answered with S or N
  if command -v pg_isready >/dev/null; then pg_isready -q -t 5 -h 127.0.0.1 -p "$POSTGRES_PORT"; return; fi
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$POSTGRES_PORT"' && printf "\x00\x00\x00\x08\x04\xd2\x16\x2f" >&3 &&
    [[ "$(head -c 1 <&3)" == [SN] ]]' 2>/dev/null
}
up() {  # rabbitmq|postgres: ready when its port answers as its server; refuse a port held by something else
  local port=$RABBITMQ_PORT name=RabbitMQ
  [ "$1" = postgres ] && port=$POSTGRES_PORT name=PostgreSQL
  "${1}_answers" && return 0
  if listening "$port"; then
    echo "ensure-infra: port $port is held by something that is not $name: stop it (or point the settings elsewhere)" >&2
    exit 1
  fi
  return 1
}
wait_for() {  # rabbitmq|postgres name
  for _ in $(seq 1 60); do up "$1" && return 0; sleep 1; done
  echo "ensure-infra: $2 did not come up" >&2; return 1
}
may() {  # what: refuse in check-only mode, naming what to do instead
  [ "$install" != 0 ] && return 0
  echo "ensure-infra: $1, and YISHI_INSTALL_INFRA=0 (--check) lets nothing be installed or started: $2" >&2
  exit 1
}
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
has_docker_engine() {
  [ "$install" != 1 ] && command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -qq
  sudo_ apt-get install -y -qq "$@" >/dev/null
}

ensure_rabbitmq() {
  up rabbitmq && return 0
  if ! command -v rabbitmq-server >/dev/null && ! [ -x /usr/sbin/rabbitmq-server ]; then
    may "RabbitMQ is not installed" "sudo apt-get install rabbitmq-server && sudo rabbitmq-plugins enable rabbitmq_management"
    if has_docker_engine; then docker compose up -d rabbitmq; wait_for rabbitmq RabbitMQ; return; fi
    echo "ensure-infra: installing rabbitmq-server (Debian package)"
    apt_install rabbitmq-server
  fi
  may "RabbitMQ is not running on port $RABBITMQ_PORT" "sudo service rabbitmq-server start"
  # the tests create their vhosts through the management API when rabbitmqctl needs root (Debian leaves it off)
  sudo_ rabbitmq-plugins enable --offline rabbitmq_management >/dev/null || true
  echo "ensure-infra: starting RabbitMQ"
  sudo_ rabbitmq-server -detached || sudo_ service rabbitmq-server start || true
  wait_for rabbitmq RabbitMQ
  sudo_ rabbitmqctl await_startup >/dev/null 2>&1 || true
  # online too: a broker Debian's postinst had already started reads --offline only at its next start
  sudo_ rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
}

ensure_postgres() {
  up postgres && return 0
  local fresh=0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    may "PostgreSQL is not installed" "sudo apt-get install postgresql"
    if has_docker_engine; then docker compose up -d postgres; wait_for postgres PostgreSQL; return; fi
    echo "ensure-infra: installing postgresql (Debian package)"
    apt_install postgresql
    fresh=1
  fi
  may "PostgreSQL is not running on port $POSTGRES_PORT" "sudo service postgresql start"
  echo "ensure-infra: starting PostgreSQL"
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  sudo_ pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || sudo_ service postgresql start
  wait_for postgres PostgreSQL
  if [ "$fresh" = 1 ]; then  # the tests log in over TCP as postgres/postgres
    sudo_ su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
}

if [ "$browser" = 1 ]; then  # the portal's browser tests: Debian's chromium (Playwright cannot download one)
  # a CJK font too, so that screenshots (scripts/portal_screenshots.py) show Chinese, not boxes
  { command -v chromium && fc-list :lang=zh | grep -q .; } >/dev/null 2>&1 || {
    may "chromium or a Chinese font is missing" "sudo apt-get install chromium fonts-wqy-microhei"
    echo "ensure-infra: installing chromium and fonts-wqy-microhei (Debian packages)"; apt_install chromium fonts-wqy-microhei; }
  exit 0
fi
if [ "$venv" = 1 ]; then  # Debian splits venv/ensurepip out of python3
  may "Python's venv module is missing" "sudo apt-get install python3-venv python3.11-venv"
  apt_install python3-venv python3.11-venv
  exit 0
fi
ensure_rabbitmq
[ "$want_pg" = 1 ] && ensure_postgres
exit 0
