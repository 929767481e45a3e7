#!/usr/bin/env bash
# The main job end to end on a built-in default, on a fresh machine (run as root):
#   install what geedocker needs -> start a local registry on 127.0.0.1 -> make a busybox image from
#   Debian's busybox-static (geedocker import) -> push it -> remove it locally -> pull it back
#   (verified, content-addressed) -> list it -> run a container from it.
# Everything lives in a temp dir that is removed at the end; the registry is stopped by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null

WORK=$(mktemp -d /tmp/geedocker-demo.XXXXXX)
export GEEDOCKER_ROOT="$WORK/root" GEEDOCKER_RUN="$WORK/run"
export GEEDOCKER_BRIDGE=gddemo0   # the demo's own bridge (a real install uses geedocker0), removed at the end
export GEEDOCKER_NFT_TABLE=gddemo  # and its own nftables table (a real install uses "geedocker"), removed too
export GEEDOCKER_HOST_RUN="$WORK/host"  # and its own host-wide lease tables (a real install: /run/geedocker/host)
REG_PID=""
cleanup() {
    [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
    ip link del gddemo0 2>/dev/null || true
    nft delete table ip gddemo 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/v2/')" 2>/dev/null && break
    sleep 0.1
done
IMAGE="127.0.0.1:$PORT/demo/busybox:latest"
echo "== local registry on 127.0.0.1:$PORT (pid $REG_PID)"

# A root filesystem from busybox-static: the binary, its applet links, /etc/passwd and /etc/group.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp" "$WORK/rootfs/root"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$WORK/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$WORK/rootfs/etc/group"
tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/rootfs.tar" .

GD="python3 -m geedocker"
echo "== geedocker import rootfs.tar $IMAGE"
$GD import -c 'CMD ["/bin/sh"]' "$WORK/rootfs.tar" "$IMAGE"
echo "== geedocker push $IMAGE"
$GD push "$IMAGE"
echo "== geedocker rmi $IMAGE"
$GD rmi "$IMAGE"
echo "== geedocker pull $IMAGE"
$GD pull "$IMAGE"
echo "== geedocker pull $IMAGE (again: served from the cache, nothing downloaded)"
$GD pull "$IMAGE"
echo "== geedocker images"
$GD images
echo "== geedocker run --rm $IMAGE echo hello from geedocker"
$GD run --rm "$IMAGE" echo "hello from geedocker"
echo "== geedocker run --rm --hostname demo $IMAGE sh -c 'hostname; ps; ip -4 addr show eth0'"
$GD run --rm --hostname demo "$IMAGE" sh -c 'hostname; ps; ip -4 addr show eth0 | grep inet'
echo "== geedocker run -d, then logs, ps, stop, rm"
CID=$($GD run -d --name demo-web "$IMAGE" sh -c 'echo started; sleep 300')
sleep 0.5
$GD logs demo-web
$GD ps
$GD stop -t 1 demo-web >/dev/null
$GD rm demo-web >/dev/null
echo "removed ${CID:0:12}"
echo "== done"
