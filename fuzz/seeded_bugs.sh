#!/usr/bin/env bash
# fuzz/seeded_bugs.sh — show that the fuzzers find bugs in mallet's real
# backends: for each seeded bug (cmake/MalletSeededBug.cmake) build the
# libFuzzer target that should catch it into build/fuzz-seeded-<bug>, fuzz
# only the broken backend (MALLET_FUZZ_BACKENDS) for at most N seconds and
# record whether it crashed, when, and with which message.
#
#   fuzz/seeded_bugs.sh [--seconds N] [--corpus empty|seeds|both]
#                       [--only bug,bug] [--out DIR] [--no-control]
#
# --corpus empty starts from nothing; seeds also reads corpora/<target>/
# (the committed seeds, which contain no misuse aimed at these sites);
# both (default) runs each bug twice. Every crash input is replayed on the
# unseeded build (build/fuzz, built if missing): it must NOT crash there,
# else the finding is not the seeded bug's. Unless --no-control, each
# (target, backend) pair is also fuzzed N seconds on the unseeded build,
# which must find nothing.
# With --only, the rows of other bugs (and of control pairs not rerun)
# already in DIR/results.csv are kept; each row records the commit.
# Writes DIR/results.csv and DIR/README.md (default
# results/<date>_fuzz_seeded_bugs); logs and crash inputs go to
# build/fuzz-work/seeded/. Exit status: 0 if every bug was found in every
# run and no control run crashed, 1 otherwise, 2 usage.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
seconds=60 corpus=both only="" out="" control=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-control) control=0; shift ;;
    -h|--help) usage ;;
    *) echo "fuzz/seeded_bugs.sh: unknown option '$1'" >&2; usage ;;
  esac
done
case "$corpus" in empty) modes=(empty) ;; seeds) modes=(seeds) ;; both) modes=(empty seeds) ;; *) usage ;; esac
out=${out:-$root/results/$(date +%F)_fuzz_seeded_bugs}
work=$root/build/fuzz-work/seeded
mkdir -p "$out" "$work"
cd "$root" || exit 2

# bug  target  backend  what was removed (for the README)
# ptmalloc's bugs are found through its one detect capability,
# MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE (glibc misses fastbin dups, so it
# claims no more): the misuse target injects immediate double frees only.
bugs=(
  "pt_tcache_df  misuse ptmalloc tcache double-free key check (\"free(): double free detected in tcache 2\")"
  "pt_fasttop    misuse ptmalloc fastbin top check (\"double free or corruption (fasttop)\")"
  "sz_tiny_df    misuse scalable tiny double free of the block in the last-free cache"
  "sz_checksum   misuse scalable tiny free-list link checksums (\"Incorrect checksum for freed object\")"
  "nano_df       misuse nano     v2 free-slot guard word (double free)"
  "nano_rounding ops    nano     size class one quantum short for 16k+1-byte requests"
  "sz_rounding   ops    scalable tiny msize rounded down (one quantum short)"
)

export GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=16384

build() { # dir [seeded bug] -> 0 when the targets are built
  local dir=$1 bug=${2:-}
  cmake --preset fuzz -B "$dir" -DMALLET_SEEDED_BUG="$bug" -DMALLET_BUILD_TESTS=OFF \
    >"$work/configure-${bug:-none}.log" 2>&1 &&
    cmake --build "$dir" -j2 --target misuse_fuzzer ops_fuzzer >"$work/build-${bug:-none}.log" 2>&1
}

# fuzz BIN TARGET BACKEND MODE TAG -> sets f_found f_secs f_execs f_msg f_crash
fuzz() {
  local bin=$1 t=$2 be=$3 mode=$4 tag=$5
  local dir=$work/$tag; rm -rf "$dir"; mkdir -p "$dir/corpus"
  local max_len; max_len=$(sed -n 's/^max_len *= *//p' "fuzz/$t.options"); max_len=${max_len:-4096}
  local dirs=("$dir/corpus"); [ "$mode" = seeds ] && dirs+=("corpora/$t")
  local t0 t1; t0=$(date +%s.%N)
  MALLET_FUZZ_BACKENDS=$be "$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=25 \
    -rss_limit_mb=4096 -dict="fuzz/$t.dict" -print_final_stats=1 -artifact_prefix="$dir/" \
    "${dirs[@]}" >"$dir/log" 2>&1
  t1=$(date +%s.%N)
  f_secs=$(printf '%.1f' "$(echo "$t1 - $t0" | bc)")
  f_crash=$(grep -oE 'Test unit written to [^ ]+' "$dir/log" | tail -1 | sed 's/Test unit written to //')
  f_execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/log" | grep -oE '[0-9]+$' | tail -1)
  [ -n "$f_execs" ] || f_execs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -1 | tr -d '#')
  f_msg=$(grep -m1 -E 'mallet-fuzz: FAILED|ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error' "$dir/log" |
          sed -E 's/0x[0-9a-f]+/0x…/g; s/"/'"'"'/g' | cut -c1-160)
  f_found=no; [ -n "$f_crash" ] && f_found=yes
}

base=$root/build/fuzz
if [ ! -x "$base/fuzz/misuse_fuzzer" ] || [ ! -x "$base/fuzz/ops_fuzzer" ]; then
  echo "building the unseeded targets in $base"
  build "$base" || { echo "fuzz/seeded_bugs.sh: unseeded build failed ($work/build-none.log)" >&2; exit 2; }
fi

csv=$out/results.csv
keep=""
if [ -n "$only" ] && [ -f "$csv" ]; then
  rerun=""
  for line in "${bugs[@]}"; do
    read -r bug t be _ <<<"$line"
    [[ ",$only," == *",$bug,"* ]] && rerun+=" $bug control:$t:$be"
  done
  [ "$control" = 1 ] || rerun=$(tr ' ' '\n' <<<"$rerun" | grep -v '^control:' | tr '\n' ' ')
  keep=$(tail -n +2 "$csv" | awk -F, -v rerun=" $rerun " '{ k = ($1 == "control") ? "control:" $2 ":" $3 : $1 }
                                                         index(rerun, " " k " ") == 0')
fi
echo "bug,target,backend,corpus,found,seconds,execs,replays_on_unseeded,message,removed,commit" >"$csv"
[ -z "$keep" ] || echo "$keep" >>"$csv"
commit=$(git rev-parse --short HEAD)$(git diff --quiet -- alloc fuzz cmake || echo '+dirty')
fail=0
declare -A pairs=()
for line in "${bugs[@]}"; do
  read -r bug t be what <<<"$line"
  [ -n "$only" ] && [[ ",$only," != *",$bug,"* ]] && continue
  pairs["$t $be"]=1
  dir=$root/build/fuzz-seeded-$bug
  b0=$(date +%s)
  if ! build "$dir" "$bug"; then
    echo "  FAIL  $bug: build failed ($work/build-$bug.log)"; fail=1; continue
  fi
  echo "  built $bug in $(( $(date +%s) - b0 )) s"
  grep -q "seeded bug '$bug'" <("$dir/fuzz/${t}_fuzzer" -runs=0 2>&1) ||
    { echo "  FAIL  $bug: the binary does not announce its seeded bug"; fail=1; }
  for mode in "${modes[@]}"; do
    fuzz "$dir/fuzz/${t}_fuzzer" "$t" "$be" "$mode" "$bug-$mode"
    replays=-
    if [ "$f_found" = yes ]; then
      # The same input on the real backend must pass: the crash is the bug's.
      MALLET_FUZZ_BACKENDS=$be "$base/fuzz/${t}_fuzzer" "$f_crash" >"$work/$bug-$mode/replay.log" 2>&1 &&
        replays=no || replays=yes
      [ "$replays" = no ] || fail=1
    else
      fail=1
    fi
    echo "  $bug ($t/$be, $mode corpus): found=$f_found in ${f_secs} s, ${f_execs:-?} execs; crashes unseeded build: $replays; $f_msg"
    echo "$bug,$t,$be,$mode,$f_found,$f_secs,${f_execs:-},$replays,\"$f_msg\",\"${what//\"/\'}\",$commit" >>"$csv"
  done
done

if [ "$control" = 1 ]; then
  for pair in "${!pairs[@]}"; do
    read -r t be <<<"$pair"
    fuzz "$base/fuzz/${t}_fuzzer" "$t" "$be" seeds "control-$t-$be"
    echo "  control $t/$be (unseeded, seeds): crash=$f_found after ${f_secs} s, ${f_execs:-?} execs $f_msg"
    [ "$f_found" = no ] || fail=1
    echo "control,$t,$be,seeds,$f_found,$f_secs,${f_execs:-},-,\"$f_msg\",\"none (unseeded build)\",$commit" >>"$csv"
  done
fi

{
  echo "# Seeded bugs in mallet's real backends: found by the fuzzers?"
  echo
  echo "Generated by \`fuzz/seeded_bugs.sh\` (last: \`--seconds $seconds --corpus $corpus${only:+ --only $only}\`) on $(date -u '+%F %H:%M UTC');"
  echo "the *commit* column says which fuzzer each row ran."
  echo "Each bug is one \`#ifndef MALLET_SEEDED_BUG_<NAME>\` site in alloc/ (cmake/MalletSeededBug.cmake),"
  echo "built with libFuzzer + ASan/UBSan into build/fuzz-seeded-<bug>; only the broken backend is fuzzed"
  echo "(MALLET_FUZZ_BACKENDS). *seconds* is wall time from start to the first crash (libFuzzer stops there),"
  echo "start-up included; *empty* = no seeds, *seeds* = corpora/<target>/ (committed, not made for this)."
  echo "*replays on unseeded* = the crash input run on the normal build (must be *no*)."
  echo "ptmalloc claims only MALLET_CAP_DETECT_DOUBLE_FREE_IMMEDIATE (glibc misses fastbin dups), so the"
  echo "misuse target injects only immediate double frees into it (fuzz/misuse_core.c)."
  echo
  echo "| bug | removed | target | backend | corpus | found | seconds | execs | replays on unseeded | first message | commit |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  tail -n +2 "$csv" | grep -v '^control,' | while IFS= read -r l; do
    python3 -c 'import csv,sys; r=next(csv.reader([sys.argv[1]])); print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` | %s |" % (r[0], r[9], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[10]))' "$l"
  done
  if grep -q '^control,' "$csv"; then
    echo
    echo "Control: the unseeded build, same target and backend, seeds (must not crash):"
    echo
    echo "| target | backend | crash | seconds | execs | message | commit |"
    echo "|---|---|---|---|---|---|---|"
    grep '^control,' "$csv" | while IFS= read -r l; do
      python3 -c 'import csv,sys; r=next(csv.reader([sys.argv[1]])); print("| %s | %s | %s | %s | %s | `%s` | %s |" % (r[1], r[2], r[4], r[5], r[6], r[8], r[10]))' "$l"
    done
  fi
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs visible,"
  echo "$(uname -sr), $(clang --version | head -1); git $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine was shared with other jobs;"
  echo "one fuzzing process at a time, so times are upper bounds for an idle machine)."
} >"$out/README.md"
echo "fuzz/seeded_bugs.sh: wrote $csv and $out/README.md"
exit $fail
