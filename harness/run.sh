#!/usr/bin/env bash
# harness/run.sh — set up, build and run mallet's main job: the default
# benchmark suite across every backend, with report and plots in results/.
# This is the README's first command. Extra arguments go to `mallet bench`
# (e.g. --smoke, --backends own, --repeats 5).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/cmake/setup.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" >/dev/null
"$root/build/release/mallet" list
exec "$root/build/release/mallet" bench --out-root "$root/results" "$@"
