# Finds the peer allocators' shared libraries. mallet loads them at run
# time with dlopen(RTLD_LOCAL) so that linking never replaces the process's
# own malloc; here we only record where they are and say loudly which are
# missing. Each MALLET_<ID>_LIBRARY may be overridden on the command line.
set(_mallet_peer_je_names libjemalloc.so.2)
set(_mallet_peer_mi_names libmimalloc.so.2)
set(_mallet_peer_tc_names libtcmalloc_minimal.so.4 libtcmalloc.so.4)
set(_mallet_peer_je_pkg libjemalloc-dev)
set(_mallet_peer_mi_pkg libmimalloc-dev)
set(_mallet_peer_tc_pkg libgoogle-perftools-dev)

foreach(peer je mi tc)
  string(TOUPPER ${peer} PEER)
  find_library(MALLET_${PEER}_LIBRARY NAMES ${_mallet_peer_${peer}_names}
               DOC "Shared library of the '${peer}' peer allocator, loaded at run time.")
  if(MALLET_${PEER}_LIBRARY)
    message(STATUS "mallet: peer '${peer}' found: ${MALLET_${PEER}_LIBRARY}")
  else()
    message(WARNING "mallet: peer '${peer}' NOT FOUND (install ${_mallet_peer_${peer}_pkg}); "
                    "it will be listed and reported as 'not installed'.")
  endif()
endforeach()
