#!/usr/bin/env bash
# Builds CAF 0.17.6 (Debian's source package, with Debian's patches) with
# ThreadSanitizer into PREFIX, for `make tsan`.
#
# Debian's libcaf is not instrumented: TSan then cannot see the hand-offs
# through CAF's mailboxes and scheduler queues and reports every message as a
# race. With CAF itself built with -fsanitize=thread those edges are visible.
#
# Usage: build-caf-tsan.sh PREFIX [WORKDIR]   (JOBS=2 by default)
# Does nothing when PREFIX already holds a finished build (its stamp file).
set -euo pipefail

prefix=$(realpath -m "$1")
workdir=$(realpath -m "${2:-$prefix/../caf-src}")
jobs=${JOBS:-2}
# The version of Debian's libcaf-dev: same sources, same patches.
version=0.17.6-2.1
stamp="$prefix/.caf-tsan-$version"
here=$(cd "$(dirname "$0")" && pwd)

if [ -e "$stamp" ]; then
  echo "-- CAF with TSan: using $prefix"
  exit 0
fi

# apt-get source needs dpkg-source; CAF's own build needs the rest.
bash "$here/install-packages.sh" dpkg-dev cmake make g++ libssl-dev curl patch

# The machine's apt lists only binary packages: add the matching deb-src
# entry (the same archive as Debian's own sources file) once.
if ! apt-cache showsrc actor-framework 2>/dev/null | grep -q "^Version: $version\$"; then
  src_list=/etc/apt/sources.list.d/caf-durable-deb-src.sources
  if [ "$(id -u)" -ne 0 ]; then
    echo "no deb-src entry for actor-framework $version: run as root (writes" \
         "$src_list and runs apt-get update), or add one yourself" >&2
    exit 1
  fi
  echo "-- adding $src_list"
  cat >"$src_list" <<'EOF'
# Added by caf-durable (cmake/build-caf-tsan.sh): `make tsan` builds CAF from
# Debian's source package.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq
fi

# apt-get source checks the files against the signed Sources index and
# dpkg-source applies debian/patches.
rm -rf "$workdir"
mkdir -p "$workdir"
cd "$workdir"
# The upstream tarball's checksum from the signed index (printed only while
# the file is not yet here), for the fallback below.
orig=actor-framework_0.17.6.orig.tar.gz
sha=$(apt-get source --print-uris -qq --only-source "actor-framework=$version" \
      | awk -v f="$orig" '$2 == f { sub("SHA256:", "", $4); print $4 }')
if apt-get source -qq --only-source "actor-framework=$version"; then
  src=$(find "$workdir" -mindepth 1 -maxdepth 1 -type d -name 'actor-framework-*')
else
  # Some archive mirrors do not serve actor-framework_0.17.6-2.1.debian.tar.xz
  # (404) while the .dsc and the upstream tarball are there. Then build the
  # upstream tarball, checked against the Sources index like apt-get would,
  # with the one Debian change that touches an installed header (gcc >= 11
  # needs <limits>), so that the headers equal /usr/include/caf.
  echo "-- Debian's debian.tar.xz is not available: building the upstream" \
       "tarball with cmake/caf-tsan/*.patch"
  [ -f "$orig" ] || curl -fsSLO \
    "http://deb.debian.org/debian/pool/main/a/actor-framework/$orig"
  echo "$sha  $orig" | sha256sum -c -
  tar xzf "$orig"
  src="$workdir/actor-framework-0.17.6"
  for p in "$here"/caf-tsan/*.patch; do
    patch -d "$src" -p1 <"$p"
  done
fi
cd - >/dev/null

# Only the libraries we link (core, io, openssl); nothing else is built.
# The RPATH makes libcaf_io/openssl load the instrumented libcaf_core, never
# the system one.
# Debian builds with -g -O2 and C++14 (its CMakeLists patch); so do we.
tsan_flags="-std=c++14 -g -O2 -fsanitize=thread -fno-omit-frame-pointer"
cmake -S "$src" -B "$workdir/build" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_INSTALL_RPATH="$prefix/lib" \
  -DCMAKE_CXX_FLAGS="$tsan_flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DCAF_NO_EXAMPLES=ON -DCAF_NO_TOOLS=ON -DCAF_NO_UNIT_TESTS=ON \
  -DCAF_NO_PYTHON=ON -DCAF_NO_OPENCL=ON -DCAF_NO_SUMMARY=ON
nice -n 10 cmake --build "$workdir/build" -j"$jobs"
cmake --install "$workdir/build"
touch "$stamp"
echo "-- CAF with TSan installed in $prefix"
