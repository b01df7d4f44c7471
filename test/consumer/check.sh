#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then configures, builds
# and runs the consumer project against it through find_package.
set -euo pipefail
build_dir=$1
source_dir=$2
cxx_flags=${3:-}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" > /dev/null
cmake -S "$source_dir" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_CXX_FLAGS="$cxx_flags" > /dev/null
cmake --build "$scratch/build" -j2 > /dev/null
"$scratch/build/consumer" "$scratch/data"
