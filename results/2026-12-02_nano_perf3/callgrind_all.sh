#!/bin/bash
# All callgrind rows of README.md: peers, then nano per configuration, on
# the worker thread (as `mallet bench` runs by default) and with
# --main-thread, the fast path on and off; BASE=dir adds the parent
# commit's build (worker thread only: it has no --main-thread).
cg=$(dirname "$0")/callgrind_pair.sh
for be in floor sys mi je tc; do
    $cg $be $be ""
    $cg ${be}_main $be "" --main-thread
done
for cfg in "v1 MallocNanoZone=V1" "v2w MallocNanoZone=V2:MallocNanoMadvisePolicy=warning" "v2 MallocNanoZone=V2"; do
    set -- $cfg
    $cg nano_$1 nano $2
    $cg nano_$1_main nano $2 --main-thread
    $cg nano_$1_main_atomics nano $2:nano.single_thread_fast=0 --main-thread
    [ -n "$BASE" ] && BUILD=$BASE $cg nano_$1_before nano $2
done
