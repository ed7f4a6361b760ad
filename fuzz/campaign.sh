#!/usr/bin/env bash
# fuzz/campaign.sh — a fuzzing campaign over every target and both engines,
# with the numbers written to results/.
#
#   fuzz/campaign.sh [--seconds N] [--parallel N] [--targets "ops misuse ..."]
#                    [--engines "libfuzzer afl"] [--out DIR]
#
# Runs fuzz/run.sh TARGET --engine E --seconds N for each pair, N pairs at
# a time (--parallel, default 2 = this machine class's cores), and writes
# DIR/results.csv (target, engine, seconds, execs, exec/s, outcome, crash
# file) and DIR/README.md. DIR defaults to results/<UTC date>_fuzz_campaign.
# A crash is an outcome, not a script failure: it is listed with the
# command that reproduces it. Exit status: 0 nothing found, 1 a crash found,
# 2 usage. The issue's "one hour per target" is
#   fuzz/campaign.sh --seconds 1800          (30 min x 2 engines per target)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
seconds=300 parallel=2 targets="ops misuse diff options trace sizespec" engines="libfuzzer afl" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --engines) engines=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "fuzz/campaign.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "fuzz/campaign.sh: --seconds needs a positive number" >&2; usage; }
[[ "$parallel" =~ ^[0-9]+$ && "$parallel" -gt 0 ]] || { echo "fuzz/campaign.sh: --parallel needs a positive number" >&2; usage; }
cd "$root" || exit 2
out=${out:-results/$(date -u +%Y-%m-%d)_fuzz_campaign}
mkdir -p "$out/logs" || exit 2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"

# Build every binary first, so the timed runs do not include compiling.
for e in $engines; do
  case "$e" in libfuzzer) p=fuzz ;; afl) p=fuzz-afl ;; *) echo "fuzz/campaign.sh: unknown engine '$e'" >&2; exit 2 ;; esac
  tg=(); for t in $targets; do tg+=("${t}_fuzzer"); done
  echo "building ${tg[*]} for $e"
  { cmake --preset "$p" >/dev/null && cmake --build "build/$p" -j2 --target "${tg[@]}" >/dev/null; } ||
    { echo "fuzz/campaign.sh: build for $e failed" >&2; exit 2; }
done

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pairs=()
for t in $targets; do for e in $engines; do pairs+=("$t:$e"); done; done
running=0
for pair in "${pairs[@]}"; do
  t=${pair%%:*} e=${pair##*:}
  echo "start $t $e (${seconds} s)"
  bash fuzz/run.sh "$t" --engine "$e" --seconds "$seconds" >"$out/logs/$t-$e.log" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait

echo "target,engine,seconds,execs,exec_per_s,outcome,crash_file,commit" >"$out/results.csv"
found=0
for pair in "${pairs[@]}"; do
  t=${pair%%:*} e=${pair##*:} log="$out/logs/$t-$e.log"
  line=$(grep -E "^$t $e: [0-9]+ execs in" "$log" | tail -1)
  execs=$(sed -E 's/.*: ([0-9]+) execs in ([0-9]+) s \(([0-9]+) exec\/s\).*/\1/' <<<"$line")
  secs=$(sed -E 's/.*: ([0-9]+) execs in ([0-9]+) s \(([0-9]+) exec\/s\).*/\2/' <<<"$line")
  rate=$(sed -E 's/.*: ([0-9]+) execs in ([0-9]+) s \(([0-9]+) exec\/s\).*/\3/' <<<"$line")
  crash=$(grep -oE "CRASH [^;]+" "$log" | head -1 | sed 's/^CRASH //')
  if [ -n "$crash" ]; then outcome=crash; found=1
  elif [ -z "$line" ]; then outcome=error; found=1
  else outcome=clean; fi
  echo "$t,$e,${secs:-},${execs:-},${rate:-},$outcome,${crash:-},$commit" >>"$out/results.csv"
done

{
  echo "# Fuzzing campaign, $started"
  echo
  echo "\`fuzz/campaign.sh --seconds $seconds --parallel $parallel\` on commit \`$commit\`;"
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Each target ran ${seconds} s per engine from corpora/<target> plus what earlier runs left in"
  echo "build/fuzz-work/<target>; libFuzzer builds carry ASan+UBSan, AFL++ builds run persistent mode."
  echo
  echo "| target | engine | seconds | execs | exec/s | outcome |"
  echo "|---|---|---:|---:|---:|---|"
  tail -n +2 "$out/results.csv" | while IFS=, read -r t e s x r o c _; do
    echo "| $t | $e | $s | $x | $r | $o${c:+ (\`$c\`)} |"
  done
  echo
  echo "Per-target fuzzing time: $((seconds * $(wc -w <<<"$engines"))) s over $(wc -w <<<"$engines") engine(s)."
  echo "Reproduce a crash: \`fuzz/run.sh TARGET --engine ENGINE --reproduce FILE\`. Logs: \`logs/\`."
} >"$out/README.md"
cat "$out/README.md"
exit $found
