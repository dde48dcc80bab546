#!/usr/bin/env bash
# Installs what berth and its tests need on Debian 12, as root: the programs berth drives (apt),
# the test clients and fixtures (apt), and the npm packages (npm ci). Safe to run again: it only
# asks apt for what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (apt-get needs it)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# berth's runtime: the OCI runtime, the container monitor, networking, an init, seccomp and
# registries.conf defaults, zstd for zstd-compressed layers (Node 20 has no zstd). Then the tests' clients and fixtures.
packages=(
  runc conmon netavark aardvark-dns iptables catatonit golang-github-containers-common iproute2 util-linux zstd
  python3 python3-docker docker-compose docker-registry skopeo curl openssl
)
if ! command -v node >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# The docker CLI, for the e2e tests: where none is installed, Debian's docker.io brings its 20.10
# CLI. Its daemon must never start here: policy-rc.d forbids service starts during the install.
need_docker_cli=0
if ! command -v docker >/dev/null; then
  need_docker_cli=1
  missing+=(docker.io)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -qq
  if [ $need_docker_cli = 1 ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ $need_docker_cli = 1 ]; then
    rm -f /usr/sbin/policy-rc.d
    # stop it anyway if something started it
    pkill -x dockerd 2>/dev/null || true
    pkill -x containerd 2>/dev/null || true
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: berth needs Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error
