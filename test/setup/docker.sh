#!/usr/bin/env bash
# Makes a real Docker engine usable for the Docker tests, then builds the local base images.
# Idempotent: installs nothing that is present, never starts a second dockerd (a second one
# fails on the pid file, and one started with --bridge=none beside a running one deletes
# docker0), and returns quickly when everything is already up.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
# The eatmydata hook of mmdebstrap copies the host's eatmydata into the chroot.
command -v eatmydata >/dev/null 2>&1 || missing+=(eatmydata)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "docker.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

engine_ok() { docker info >/dev/null 2>&1; }

pidfile=/var/run/docker.pid
if engine_ok; then
  echo "docker.sh: engine already running"
elif [ -n "${DOCKER_HOST:-}" ]; then
  # The user pointed us at another engine: starting a local one would not help.
  echo "docker.sh: DOCKER_HOST=$DOCKER_HOST is set but not reachable" >&2
  exit 1
else
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "docker.sh: dockerd (pid $(cat "$pidfile")) is starting; waiting"
  else
    echo "docker.sh: starting dockerd"
    log="${TMPDIR:-/tmp}/dockerd.log"
    as_root sh -c "nohup dockerd >'$log' 2>&1 &"
  fi
  for _ in $(seq 1 60); do
    engine_ok && break
    sleep 0.5
  done
  if ! engine_ok; then
    echo "docker.sh: dockerd did not become ready; last log lines:" >&2
    tail -n 20 "${TMPDIR:-/tmp}/dockerd.log" >&2 || true
    exit 1
  fi
  echo "docker.sh: engine ready"
fi

bash "$here/base-image.sh"
