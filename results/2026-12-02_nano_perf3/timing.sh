#!/bin/bash
# Interleaved timing rounds on small-churn (see README.md). Each round runs,
# one `mallet bench` invocation each (floor and sys in every one, as the
# in-run yardsticks; nano is configured through the environment):
#   peers_main           floor,sys,mi,je,tc            --main-thread
#   CFG_main_fast        floor,sys,mi,nano             --main-thread
#   CFG_main_atomics     the same, MALLET_NANO_SINGLE_THREAD_FAST=0
#   CFG_worker           floor,sys,nano                (the default worker thread)
#   CFG_before           floor,sys,nano  with $BASE    (parent commit, worker thread)
#   CFG_pair             floor,sys,nano,nano:single_thread_fast=0  --main-thread
# for CFG in v1, v2w (MallocNanoMadvisePolicy=warning), v2 (default, immediate).
# usage: timing.sh OUTDIR ROUNDS   (BIN: this build's mallet binary; BASE: the parent commit's)
out=$1 rounds=${2:-3}
BIN=${BIN:-$(dirname "$0")/../../build/release/mallet}
run() { local dir=$1; shift; uptime > "$out/$dir.load"; env "$@" --repeats 3 --out "$out/$dir" > /dev/null 2>&1; }
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
    run peers_main_$r $BIN bench --bench small-churn --backends floor,sys,mi,je,tc --main-thread
    for cfg in "v1 MallocNanoZone=V1" "v2w MallocNanoZone=V2 MallocNanoMadvisePolicy=warning" "v2 MallocNanoZone=V2"; do
        set -- $cfg
        name=$1; shift
        run ${name}_main-fast_$r "$@" $BIN bench --bench small-churn --backends floor,sys,mi,nano --main-thread
        run ${name}_main-atomics_$r "$@" MALLET_NANO_SINGLE_THREAD_FAST=0 $BIN bench --bench small-churn --backends floor,sys,mi,nano --main-thread
        run ${name}_worker_$r "$@" $BIN bench --bench small-churn --backends floor,sys,nano
        [ -n "$BASE" ] && run ${name}_before_$r "$@" $BASE bench --bench small-churn --backends floor,sys,nano
        # fast path and atomics in one invocation, as --backends entries with zone options
        run ${name}_pair_$r "$@" $BIN bench --bench small-churn --main-thread \
            --backends floor,sys,nano,nano:single_thread_fast=0
    done
done
