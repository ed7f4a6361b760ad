# MALLET_SEEDED_BUG=<name>: compile one deliberately broken check into a
# backend, to show that the fuzzers find it (fuzz/seeded_bugs.sh). Each site
# in alloc/ is `#ifndef MALLET_SEEDED_BUG_<NAME>` around the real check.
#
# A binary with a seeded bug must never be mistaken for a real one, so:
# only fuzz builds (MALLET_FUZZ_ENGINE other than none) accept it, the
# configure step warns loudly, and the programs say so at start-up
# (mallet list, every fuzz target) through the MALLET_SEEDED_BUG string.
set(MALLET_SEEDED_BUGS
  pt_tcache_df   # ptmalloc: tcache double-free key check ("free(): double free detected in tcache 2")
  pt_fasttop     # ptmalloc: fastbin top double-free check ("double free or corruption (fasttop)")
  sz_tiny_df     # scalable: double free of a tiny block still in the last-free cache
  sz_checksum    # scalable: free-list link checksums in the tiny rack
  nano_df        # nano v2: guard word that marks a free slot (double free)
  nano_rounding  # nano: size class one quantum short for 16k+1-byte requests
  sz_rounding    # scalable: tiny msize rounded down (one quantum short)
)
if(MALLET_SEEDED_BUG STREQUAL "")
  return()
endif()
if(NOT MALLET_SEEDED_BUG IN_LIST MALLET_SEEDED_BUGS)
  string(REPLACE ";" ", " _known "${MALLET_SEEDED_BUGS}")
  message(FATAL_ERROR "MALLET_SEEDED_BUG='${MALLET_SEEDED_BUG}' is not a known seeded bug (${_known})")
endif()
if(MALLET_FUZZ_ENGINE STREQUAL "none")
  message(FATAL_ERROR "MALLET_SEEDED_BUG is only for fuzz builds (MALLET_FUZZ_ENGINE libfuzzer, afl or replay): "
                      "a seeded bug must never reach a release, test or benchmark binary")
endif()
string(TOUPPER "${MALLET_SEEDED_BUG}" _upper)
add_compile_definitions(MALLET_SEEDED_BUG_${_upper}=1 MALLET_SEEDED_BUG="${MALLET_SEEDED_BUG}")
message(WARNING "\n*** SEEDED BUG '${MALLET_SEEDED_BUG}' IS COMPILED IN: this build's allocators are BROKEN on purpose "
                "(fuzzer demonstration). Never benchmark or ship it. ***\n")
