#!/usr/bin/env bash
# cmake/setup.sh — make sure the Debian packages mallet needs are installed.
#
# As root (or with password-less sudo) it installs what is missing with
# apt-get, as mimalloc-bench's environment script does. Otherwise it prints
# the exact command to run and fails. Safe to run repeatedly: it does
# nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3   # build and preload tests
  clang llvm libclang-rt-14-dev afl++            # libFuzzer, AFL++, sanitizers
  libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev  # peer allocators je, mi, tc
  hyperfine gnuplot-nox valgrind sqlite3         # benchmarks, plots, callgrind, preload tests
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} required Debian packages are installed."
  exit 0
fi

echo "setup: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo -n"
else
  echo "setup: not root and no password-less sudo; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
