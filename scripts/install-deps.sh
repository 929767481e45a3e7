#!/usr/bin/env bash
# Install every Debian and PyPI package geedocker and its tests use. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=(docker-registry busybox-static podman skopeo umoci runc crun containerd nftables uidmap iproute2
      apache2-utils openssl time catatonit libseccomp2 docker.io docker-compose golang-github-containers-common
      gcc libc6-dev buildah)
missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
python3 -m pip install -q --disable-pip-version-check -e ".[api,test]"
# pip's console scripts run site.py and every .pth file on each start; the launchers start without them, on
# the distribution's build of this Python version when it can run geedocker from here (see geedocker/launcher.py).
python3 -m geedocker.launcher >/dev/null
