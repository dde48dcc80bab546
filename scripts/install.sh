#!/usr/bin/env bash
# Installs berth on this machine (Debian 12, as root): dependencies, a build, `berth` on PATH,
# and the systemd units (enable them with `systemctl enable --now berth.socket`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run build --silent
ln -sf "$PWD/dist/berth.cjs" /usr/local/bin/berth
if [ -d /run/systemd/system ]; then
  install -m 0644 systemd/berth.socket systemd/berth.service systemd/berth-restart.service /etc/systemd/system/
  mkdir -p /etc/systemd/user
  install -m 0644 systemd/user/berth.socket systemd/user/berth.service systemd/user/berth-restart.service /etc/systemd/user/
  systemctl daemon-reload
  echo "installed: systemctl enable --now berth.socket berth-restart.service   (user: systemctl --user enable --now berth.socket)"
fi
echo "installed: $(berth version | head -1) at /usr/local/bin/berth"
