#!/usr/bin/env bash
# Provides kube-apiserver, etcd and kubectl for envtest and `make run`, without a
# machine-wide install: prebuilt envtest binaries where they can be downloaded,
# otherwise a build from source through the Go module proxy. The result lands in a
# per-user cache, so every clone on the machine shares one build, and this script
# prints the folder that holds the three binaries.
#
# Usage: hack/k8s-binaries.sh [--source]   (--source skips the download attempt)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
SETUP_ENVTEST_VERSION=${SETUP_ENVTEST_VERSION:-v0.25.1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/scim-operator/k8s/$K8S_VERSION

say() { echo "k8s-binaries: $*" >&2; }

complete() {
	local d=$1
	[ -x "$d/kube-apiserver" ] && [ -x "$d/etcd" ] && [ -x "$d/kubectl" ]
}

if complete "$cache"; then
	echo "$cache"
	exit 0
fi

# A second build started while one runs (two make targets, two clones) waits
# for the first instead of racing it into the same folder.
mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9
if complete "$cache"; then
	echo "$cache"
	exit 0
fi

try_download() {
	local tmp
	tmp=$(mktemp -d)
	# A closed network refuses at once; a slow one must not hold a test run for minutes.
	if timeout 120 go run "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" \
		use "$K8S_VERSION" --bin-dir "$tmp" -p path >"$tmp/path" 2>"$tmp/err"; then
		local got
		got=$(cat "$tmp/path")
		if complete "$got"; then
			cp "$got/kube-apiserver" "$got/etcd" "$got/kubectl" "$cache/"
			chmod -R u+w "$tmp"; rm -rf "$tmp"
			say "downloaded prebuilt envtest binaries $K8S_VERSION into $cache"
			return 0
		fi
	fi
	say "prebuilt envtest binaries unavailable ($(grep -v "^exit status" "$tmp/err" 2>/dev/null | tail -n 1 | cut -c1-200))"
	chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"
	return 1
}

build_from_source() {
	say "building kube-apiserver, kubectl and etcd $K8S_VERSION from source (about 15 minutes on 2 cores, once)"
	local minor=${K8S_VERSION#*.}
	minor=${minor%%.*}
	local ldflags="-s -w \
		-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$minor \
		-X k8s.io/component-base/version.gitTreeState=clean \
		-X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION \
		-X k8s.io/client-go/pkg/version.gitMajor=1 \
		-X k8s.io/client-go/pkg/version.gitMinor=$minor"
	local out
	out=$(mktemp -d "$cache.build.XXXXXX")
	(
		cd "$here/k8s"
		export CGO_ENABLED=0 GOFLAGS=-mod=mod
		go build -trimpath -ldflags "$ldflags" -o "$out/etcd" ./etcd
		go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
		go build -trimpath -ldflags "$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl
	)
	mv "$out"/* "$cache/"
	rmdir "$out"
	say "built into $cache"
}

if [ "${1:-}" = "--source" ] || ! try_download; then
	build_from_source
fi
complete "$cache" || { say "binaries missing in $cache"; exit 1; }
echo "$cache"
