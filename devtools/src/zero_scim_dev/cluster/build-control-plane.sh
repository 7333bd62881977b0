#!/usr/bin/env bash
# Build the Kubernetes binaries from Debian's own `kubernetes` source package and install
# them into a cache folder: the control plane (kube-apiserver, kube-controller-manager)
# and the node (kube-scheduler, kubelet, kube-proxy), in one `make` so the code
# generators run once.
#
# Usage: build-control-plane.sh <cache-dir> [deps|all]
#   deps: only step 1 (runtime packages: etcd, openssl); all (default): every step.
#
# Steps (see docs/local-control-plane.md for why each one exists):
#   1. apt packages: etcd-server, Go 1.19 and the Go libraries used by the patch;
#   2. enable deb-src for bookworm and download the `kubernetes` source package;
#   3. patch: replace the vendored modern-go/reflect2 (crashes under Go >= 1.18) and
#      json-iterator/go with Debian's newer copies;
#   4. build the five binaries the way debian/rules does;
#   5. copy them to <cache-dir>/bin and write <cache-dir>/bin/VERSION.
# Every step prints a line starting with "==>" so a caller can show progress.
set -euo pipefail

cache_dir=${1:?usage: build-control-plane.sh <cache-dir> [deps|all]}
mode=${2:-all}
bin_dir="$cache_dir/bin"
work_dir="$cache_dir/build"
mkdir -p "$bin_dir" "$work_dir"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to run: $*" >&2; exit 1; fi
}

apt_packages=(etcd-server openssl ca-certificates)
if [ "$mode" != deps ]; then
  apt_packages+=(golang-go rsync jq make
    golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt: installing ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "==> apt: all packages present"
fi
[ "$mode" = deps ] && exit 0

src_list=/etc/apt/sources.list.d/zero-scim-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  echo "==> apt: enabling deb-src (bookworm) in $src_list"
  uris=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  signed=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  as_root tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: ${uris:-http://deb.debian.org/debian}
Suites: bookworm bookworm-updates
Components: main
Signed-By: ${signed:-/usr/share/keyrings/debian-archive-keyring.gpg}
SRC
  as_root apt-get update -q
fi

cd "$work_dir"
orig=$(ls kubernetes_*.orig.tar.gz 2>/dev/null | head -n1) || true
if [ -z "$orig" ]; then
  echo "==> source: apt-get source --download-only kubernetes"
  apt-get source --download-only kubernetes
  orig=$(ls kubernetes_*.orig.tar.gz | head -n1)
fi
src=$( (tar -tzf "$orig" || true) | head -n1 | cut -d/ -f1)
echo "==> source: unpacking $orig"
rm -rf "$src"
tar -xzf "$orig"
cd "$src"

echo "==> patch: vendored modern-go/reflect2 and json-iterator/go from Debian's packages"
for lib in github.com/modern-go/reflect2 github.com/json-iterator/go; do
  rm -rf "vendor/$lib"
  cp -r "/usr/share/gocode/src/$lib" "vendor/$lib"
  rm -f "vendor/$lib/go.mod" "vendor/$lib/go.sum"
done

targets="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kube-proxy"
echo "==> build: make WHAT='$targets' (several minutes)"
export GOPATH="$PWD/.go" CGO_ENABLED=0 GOFLAGS=-mod=vendor GOCACHE="$work_dir/gocache"
mkdir -p .go/src/k8s.io
ln -sfn ../../.. .go/src/k8s.io/kubernetes
mkdir -p "$work_dir/home"
HOME="$work_dir/home" make WHAT="$targets"

echo "==> install: $bin_dir"
for target in $targets; do install -m 0755 "_output/bin/${target#cmd/}" "$bin_dir/"; done
"$bin_dir/kube-apiserver" --version > "$bin_dir/VERSION"
cd "$work_dir" && rm -rf "$src"
echo "==> done: $(cat "$bin_dir/VERSION")"
