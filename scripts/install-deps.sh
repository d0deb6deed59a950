#!/usr/bin/env bash
# Installs what the build needs when it is missing: a C++ compiler, cmake (HiGHS is
# built from source), libclang (bindgen), fontconfig/freetype and a font (plots). Debian/Ubuntu; run as root or with sudo.
set -euo pipefail

missing=()
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# bindgen needs libclang and clang's own headers: the -dev package brings both.
if command -v dpkg >/dev/null 2>&1; then
  dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
elif ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
  missing+=(libclang-dev)
fi
# plotters renders text through fontconfig and freetype, with a system font.
if command -v dpkg >/dev/null 2>&1; then
  for pkg in libfontconfig1-dev libfreetype-dev fonts-dejavu-core; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi
