# jemalloc-cross-built's own build step, included by the guest build
# (images/target/CMakeLists.txt) with:
#   ARCHMATRIX_SCENARIO_TARGET       the scenario program's CMake target
#   ARCHMATRIX_SOURCE_PACKAGE_jemalloc  Debian's jemalloc source tree (shared,
#                                    read-only: configure out of tree)
#   ARCHMATRIX_TRIPLET               the target triplet (aarch64-linux-gnu, ...)
#   CMAKE_C_COMPILER                 the target's cross compiler
#
# jemalloc is configured the way a cross-build does it by default: --host
# and the cross compiler, no --with-lg-page. Its configure cannot run a test
# program for the target, so it takes the page size from its default, 4 KiB
# (LG_PAGE 12). Debian's own package passes --with-lg-page=16 on every
# non-x86 architecture (debian/rules, Debian #843926); this build does not,
# which is what seed 000's tikv-jemallocator cross-build did.
include(ExternalProject)
set(je_src "${ARCHMATRIX_SOURCE_PACKAGE_jemalloc}")
set(je_target "${ARCHMATRIX_SCENARIO_TARGET}_jemalloc")
ExternalProject_Add(${je_target}
  SOURCE_DIR "${je_src}"
  BINARY_DIR "${CMAKE_BINARY_DIR}/jemalloc-cross-built/jemalloc"
  DOWNLOAD_COMMAND ""
  UPDATE_COMMAND ""
  # The environment's CFLAGS/LDFLAGS are the host's, never the target's (seed 004).
  CONFIGURE_COMMAND ${CMAKE_COMMAND} -E env --unset=CFLAGS --unset=CPPFLAGS --unset=LDFLAGS --unset=CXXFLAGS
    "${je_src}/configure" --host=${ARCHMATRIX_TRIPLET} "CC=${CMAKE_C_COMPILER}"
    --disable-shared --disable-cxx --disable-doc --disable-stats
    --with-jemalloc-prefix=je_
  BUILD_COMMAND make build_lib_static
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS "${CMAKE_BINARY_DIR}/jemalloc-cross-built/jemalloc/lib/libjemalloc.a"
  LOG_CONFIGURE ON
  LOG_BUILD ON
  LOG_OUTPUT_ON_FAILURE ON)
add_dependencies(${ARCHMATRIX_SCENARIO_TARGET} ${je_target})
target_include_directories(${ARCHMATRIX_SCENARIO_TARGET} PRIVATE
  "${CMAKE_BINARY_DIR}/jemalloc-cross-built/jemalloc/include")
target_link_libraries(${ARCHMATRIX_SCENARIO_TARGET} PRIVATE
  "${CMAKE_BINARY_DIR}/jemalloc-cross-built/jemalloc/lib/libjemalloc.a" pthread dl m)
