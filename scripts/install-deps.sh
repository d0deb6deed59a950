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

# The Python door (python/, docs/python.md): a virtualenv in .venv with maturin (builds
# the wheel), gymnasium, numpy and pytest. Debian's python3 may lack venv and pip, and
# its system Python is externally managed (PEP 668), hence the virtualenv.
VENV="${VENV:-.venv}"
PY_PKGS=("maturin>=1.5,<2" "gymnasium>=1.0" "numpy>=1.21" "pytest>=7")
if ! "$VENV/bin/python" -c "import gymnasium, numpy, pytest" >/dev/null 2>&1 || ! [ -x "$VENV/bin/maturin" ]; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      echo "install-deps: installing python3 python3-venv python3-pip"
      SUDO=""
      if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
      export DEBIAN_FRONTEND=noninteractive
      $SUDO apt-get update -qq
      $SUDO apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    else
      echo "install-deps: python3 with the venv module is needed for the Python bindings" >&2
      exit 1
    fi
  fi
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  echo "install-deps: installing ${PY_PKGS[*]} into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "${PY_PKGS[@]}"
fi
