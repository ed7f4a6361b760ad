#!/bin/sh
# The script these numbers were taken with now lives, unchanged apart from
# its CFGS option (default: compat hardened sys, as here), in
# ../2026-11-25_ptmalloc_perf/callgrind.sh.
exec "$(dirname "$0")/../2026-11-25_ptmalloc_perf/callgrind.sh" "$@"
