#!/usr/bin/env bash
# Run by `npm test` before the suite (package.json's "pretest"): checks every tool and service the
# suite needs, installs or starts what it can, and otherwise stops at once with one list of what is
# missing and the command that brings it. docs/testing.md says what it may change on a machine.
#
#   TEST_PREREQUISITES=check   only check and list; install and start nothing
#
# Needs, besides Node and npm:
#   python3 with moto[server] and boto3, and the AWS CLI      (local AWS; real clients)
#   rclone, s3cmd                                             (tools the helper's tests drive)
#   Chromium at $CHROMIUM_PATH or /usr/bin/chromium           (browser tests, via playwright-core)
#   a Japanese font (fonts-ipafont-gothic)                    (the console's Japanese screenshots)
#   buildah, podman, debootstrap, and root                    (the container image's test: built
#                                                              offline, started read-only with unshare)
#   Redis at 127.0.0.1:6379                                   (limits shared by replicas)
#   PostgreSQL at 127.0.0.1:5432 that user postgres can log in to over TCP (the PostgreSQL store)
set -uo pipefail

PYTHON="${PYTHON:-python3}"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
MODE="${TEST_PREREQUISITES:-install}"
PG_HOST=127.0.0.1 PG_PORT="${TEST_POSTGRES_PORT:-5432}" REDIS_PORT="${TEST_REDIS_PORT:-6379}"

say() { echo "prerequisites: $*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for_port() { for _ in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done; return 1; }

# Installing system packages needs root (or sudo without a password) and apt-get.
AS_ROOT=()
can_install_packages() {
  [ "$MODE" = install ] && command -v apt-get >/dev/null || return 1
  if [ "$(id -u)" = 0 ]; then AS_ROOT=(); return 0; fi
  command -v sudo >/dev/null && sudo -n true 2>/dev/null && AS_ROOT=(sudo -n) && return 0
  return 1
}
APT_UPDATED=
apt_install() {
  say "installing Debian packages: $*"
  if [ -z "$APT_UPDATED" ]; then "${AS_ROOT[@]}" apt-get update -qq >/dev/null 2>&1; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive "${AS_ROOT[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1
}
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -n -u postgres sh -c "$1"; fi; }

missing=()   # lines: "what | the command that brings it"

# --- Python: moto, boto3, the AWS CLI ----------------------------------------------------------
if ! command -v "$PYTHON" >/dev/null; then
  missing+=("python3 | sudo apt-get install -y python3 python3-pip")
else
  find_python_missing() {
    python_missing=()
    hash -r
    "$PYTHON" -c "import moto.server" 2>/dev/null || python_missing+=("moto[server]")
    "$PYTHON" -c "import boto3" 2>/dev/null || python_missing+=("boto3")
    command -v aws >/dev/null || python_missing+=("awscli")
  }
  find_python_missing
  if [ ${#python_missing[@]} -gt 0 ] && [ "$MODE" = install ]; then
    say "installing into your user's Python site (pip --user): ${python_missing[*]}"
    "$PYTHON" -m pip install --user -q "${python_missing[@]}" >/dev/null 2>&1 || true
    find_python_missing
  fi
  if [ ${#python_missing[@]} -gt 0 ]; then
    quoted=""; for p in "${python_missing[@]}"; do quoted+=" '$p'"; done
    missing+=("${python_missing[*]} (Python) | $PYTHON -m pip install --user$quoted   (or into a virtualenv: then PYTHON=<its python>, and its bin on PATH)")
  fi
fi

# --- Debian packages: rclone, s3cmd, Chromium, the image builders -------------------------------
find_packages_missing() {
  packages=()
  command -v rclone >/dev/null || packages+=(rclone)
  command -v s3cmd >/dev/null || packages+=(s3cmd)
  [ -x "$CHROMIUM" ] || packages+=(chromium)
  # A Japanese font, so the console's Japanese screenshots show text, not empty boxes.
  [ -d /usr/share/fonts/opentype/ipafont-gothic ] || packages+=(fonts-ipafont-gothic)
  command -v buildah >/dev/null || packages+=(buildah)
  command -v podman >/dev/null || packages+=(podman)
  command -v debootstrap >/dev/null && command -v unshare >/dev/null || packages+=(debootstrap util-linux)
}
find_packages_missing
if [ ${#packages[@]} -gt 0 ] && can_install_packages; then
  apt_install "${packages[@]}"
  find_packages_missing
fi
[ ${#packages[@]} -gt 0 ] && missing+=("${packages[*]} | sudo apt-get install -y ${packages[*]}")
# Building an image with buildah's vfs storage and starting it in a mount namespace both need root.
[ "$(id -u)" = 0 ] || missing+=("root (the container image's test: test/e2e/container-image.test.ts) | sudo -E npm test")

# --- Redis (unless TEST_REDIS_URL names another) ------------------------------------------------
if [ -z "${TEST_REDIS_URL:-}" ] && ! listening "$REDIS_PORT"; then
  if ! command -v redis-server >/dev/null && can_install_packages; then apt_install redis-server; fi
  if command -v redis-server >/dev/null && [ "$MODE" = install ]; then
    say "starting Redis on 127.0.0.1:$REDIS_PORT (keeps nothing on disk)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
    wait_for_port "$REDIS_PORT"
  fi
  listening "$REDIS_PORT" || missing+=("Redis on 127.0.0.1:$REDIS_PORT | sudo apt-get install -y redis-server && redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no")
fi

# --- PostgreSQL (unless TEST_DATABASE_URL names another) -----------------------------------------
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  :
elif ! listening "$PG_PORT"; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1 && can_install_packages; then apt_install postgresql; fi
  if ls /etc/postgresql/*/main >/dev/null 2>&1 && [ "$MODE" = install ]; then
    say "starting PostgreSQL's main cluster"
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    if [ "$(id -u)" = 0 ]; then pg_ctlcluster --skip-systemctl-redirect "$version" main start; else sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" main start; fi >/dev/null 2>&1
    wait_for_port "$PG_PORT"
  fi
fi
if [ -z "${TEST_DATABASE_URL:-}" ] && listening "$PG_PORT" && command -v psql >/dev/null; then
  login() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -tAqc "SELECT 1" >/dev/null 2>&1; }
  if ! login && [ "$MODE" = install ] && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
    # A fresh Debian cluster lets only the postgres OS user in (peer, over the socket). Rather than
    # open TCP logins to anyone (trust), give role postgres a random password kept in this user's
    # ~/.pgpass (mode 600), which psql and node-postgres read: nobody else learns it. Any port of
    # 127.0.0.1: the store-outage tests reach the server through a proxy on a port of their own.
    say "giving PostgreSQL's role postgres a random password, kept in $HOME/.pgpass (mode 600)"
    password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    as_postgres "psql -p $PG_PORT -q -c \"ALTER ROLE postgres PASSWORD '$password'\"" >/dev/null 2>&1 &&
      (umask 077 && { grep -v "^$PG_HOST:\*:\*:postgres:" "$HOME/.pgpass" 2>/dev/null; echo "$PG_HOST:*:*:postgres:$password"; } >"$HOME/.pgpass.new" && mv "$HOME/.pgpass.new" "$HOME/.pgpass")
  fi
  login || missing+=("a PostgreSQL login for role postgres on $PG_HOST:$PG_PORT | give it a password in ~/.pgpass (sudo -u postgres psql -c \"ALTER ROLE postgres PASSWORD '…'\"), or set TEST_DATABASE_URL to a database URL you can use")
elif [ -z "${TEST_DATABASE_URL:-}" ] && ! listening "$PG_PORT"; then
  missing+=("PostgreSQL on 127.0.0.1:$PG_PORT | sudo apt-get install -y postgresql && sudo pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start")
fi

if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "npm test cannot run here yet: this machine lacks what the suite needs (docs/testing.md):"
    for line in "${missing[@]}"; do
      echo "  - ${line%% | *}"
      echo "      ${line#* | }"
    done
    [ "$MODE" = install ] && ! can_install_packages && echo "(nothing was installed from Debian's packages: that needs root, or sudo without a password)"
  } >&2
  exit 1
fi
exit 0
