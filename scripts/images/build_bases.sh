#!/usr/bin/env bash
# Assembles local stand-ins for the Dockerfiles' upstream base images from Debian 12's
# packages (no image registry can be reached here) and imports them into the engine:
#   localhost/imgclf-base/golang:1.26-bookworm       golang:1.26-bookworm
#   localhost/imgclf-base/distroless-cc:nonroot      gcr.io/distroless/cc-debian12:nonroot
#   localhost/imgclf-base/python:3.11-slim-bookworm  python:3.11-slim-bookworm
# Prints the --build-arg lines that point the Dockerfiles at them (scripts/images/build.sh).
# Each image carries a label with a hash of its recipe; an image whose recipe is unchanged
# is kept, so a second run takes a second. DEBIAN_MIRROR overrides the package mirror.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/images/engine.sh

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
go_version=1.26.8
# A dead mirror must fail with apt's own error, promptly, not hang.
apt_opts=(--aptopt='Acquire::http::Timeout "30"' --aptopt='Acquire::Retries "1"')
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main" "deb ${mirror%/debian}/debian-security $suite-security main")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# What the upstream images are made of, as Debian packages.
golang_packages=ca-certificates,curl,git,gcc,g++,libc6-dev,make,pkg-config,openssh-client,procps
python_packages=ca-certificates,python3,python3-venv,netbase,tzdata
# distroless cc-debian12: glibc, libssl, libgcc, libstdc++, CA certificates, tzdata,
# netbase; extracted without maintainer scripts, so no shell or package manager comes along.
distroless_packages=base-files,netbase,tzdata,libc6,libssl3,libgcc-s1,libstdc++6,ca-certificates

have_image() {  # name recipe-hash
  [ "$("$ENGINE" image inspect --format '{{index .Labels "imgclf.base-recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

recipe_hash() {  # what makes the image: its build function, the mirror and the arguments
  { declare -f "$1"; printf '%s\n' "${sources[@]}" "$strip_hook" "${@:2}"; } | sha256sum | cut -c1-16
}

import_rootfs() {  # tarball name hash change...
  local tar=$1 name=$2 hash=$3
  shift 3
  local changes=(--change "LABEL imgclf.base-recipe=$hash")
  for c in "$@"; do changes+=(--change "$c"); done
  local old
  old=$("$ENGINE" image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  "$ENGINE" import "${changes[@]}" "$tar" "$name" >/dev/null
  # The replaced base is untagged now; drop it unless something still uses it.
  [ -z "$old" ] || "$ENGINE" rmi "$old" >/dev/null 2>&1 || true
  echo "==> $name ($(du -m "$tar" | cut -f1) MB)" >&2
}

# Hooks run on the host with the new root in $1.
strip_hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/*'

build_golang() {
  local name=localhost/imgclf-base/golang:1.26-bookworm
  local hash
  hash=$(recipe_hash build_golang "$golang_packages" "$go_version")
  if have_image "$name" "$hash"; then echo "==> $name up to date" >&2; return; fi
  # The Go toolchain as the module proxy serves it (checked against sum.golang.org), as
  # GOTOOLCHAIN would fetch it: a complete GOROOT. Module zips keep no file modes, so the
  # commands get their executable bits back, as Go's own toolchain switch does.
  local goroot
  goroot=$(GOFLAGS=-modcacherw go mod download -json "golang.org/toolchain@v0.0.1-go$go_version.linux-amd64" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$goroot/bin/go" ] || { echo "build_bases: no Go $go_version toolchain from the module proxy" >&2; exit 1; }
  echo "==> assembling $name (Debian $suite minbase + Go $go_version)" >&2
  mmdebstrap --variant=minbase --include="$golang_packages" "${apt_opts[@]}" \
    --customize-hook="cp -a '$goroot' \"\$1/usr/local/go\" && chmod -R u+w \"\$1/usr/local/go\" && chmod +x \"\$1\"/usr/local/go/bin/* \"\$1\"/usr/local/go/pkg/tool/*/*" \
    --customize-hook='mkdir -p "$1/go/bin" "$1/go/src" && chmod -R 1777 "$1/go"' \
    --customize-hook="$strip_hook" \
    "$suite" "$work/golang.tar" "${sources[@]}"
  import_rootfs "$work/golang.tar" "$name" "$hash" \
    "ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV GOPATH=/go" "ENV GOTOOLCHAIN=local" "WORKDIR /go" 'CMD ["bash"]'
}

build_python() {
  local name=localhost/imgclf-base/python:3.11-slim-bookworm
  local hash
  hash=$(recipe_hash build_python "$python_packages")
  if have_image "$name" "$hash"; then echo "==> $name up to date" >&2; return; fi
  echo "==> assembling $name (Debian $suite minbase + CPython 3.11)" >&2
  mmdebstrap --variant=minbase --include="$python_packages" "${apt_opts[@]}" \
    --customize-hook='ln -sf python3 "$1/usr/bin/python"' \
    --customize-hook="$strip_hook" \
    "$suite" "$work/python.tar" "${sources[@]}"
  import_rootfs "$work/python.tar" "$name" "$hash" "ENV LANG=C.UTF-8" 'CMD ["python3"]'
}

build_distroless() {
  local name=localhost/imgclf-base/distroless-cc:nonroot
  local hash
  hash=$(recipe_hash build_distroless "$distroless_packages")
  if have_image "$name" "$hash"; then echo "==> $name up to date" >&2; return; fi
  echo "==> assembling $name (Debian $suite: $distroless_packages, no shell)" >&2
  # Extraction runs no maintainer scripts and no customize hooks, so the root is finished
  # here, as a directory: ca-certificates' bundle (update-ca-certificates's job) is the
  # concatenation of the certificates it ships; the users are distroless's: root, nobody
  # and nonroot (65532, home /home/nonroot). The packages' own dependencies (debconf,
  # perl-base, mawk, the openssl command) and every executable go: no shell, no programs.
  local root=$work/distroless
  mmdebstrap --variant=extract --include="$distroless_packages" "${apt_opts[@]}" \
    "$suite" "$root" "${sources[@]}"
  mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot"
  cat "$root"/usr/share/ca-certificates/*/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' root:x:0:0:root:/root:/sbin/nologin nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin \
    nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin > "$root/etc/passwd"
  printf '%s\n' root:x:0: nobody:x:65534: nonroot:x:65532: > "$root/etc/group"
  chmod 1777 "$root/tmp"
  chown 65532:65532 "$root/home/nonroot"
  rm -rf "$root"/bin/* "$root"/sbin/* "$root"/usr/bin/* "$root"/usr/sbin/* "$root"/usr/share/perl5 \
    "$root"/usr/share/debconf "$root"/usr/lib/x86_64-linux-gnu/perl-base "$root"/usr/share/bash-completion \
    "$root"/usr/share/lintian "$root"/var/cache/* "$root"/var/lib/* "$root"/etc/apt "$root"/etc/update-motd.d \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  tar -C "$root" --numeric-owner -cf "$work/distroless.tar" .
  import_rootfs "$work/distroless.tar" "$name" "$hash" "USER 65532:65532" "WORKDIR /home/nonroot" \
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
}

case ${1:-all} in
  golang) build_golang ;;
  python) build_python ;;
  distroless) build_distroless ;;
  all) build_golang; build_distroless; build_python ;;
  *) echo "usage: build_bases.sh [all|golang|python|distroless]" >&2; exit 2 ;;
esac
