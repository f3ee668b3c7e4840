# Tests against a real one-node Ceph cluster (label rados).
#
# Included from tests/CMakeLists.txt before any test directory, so that every
# tests/*/CMakeLists.txt can register RADOS tests. The cluster itself is a
# CTest fixture defined in tests/rados/CMakeLists.txt:
#
#   rados_cluster_start  FIXTURES_SETUP rados_cluster
#                        scripts/ceph-dev.sh start ${TIERFS_CEPH_DIR}
#   rados_cluster_stop   FIXTURES_CLEANUP rados_cluster
#                        scripts/ceph-dev.sh wipe ${TIERFS_CEPH_DIR}
#
# CTest starts the cluster before the first test that requires the fixture
# (also for `ctest -R one_test`) and wipes it after the last one. Tests find it
# through CEPH_CONF (the librados default config path is overridden by it, and
# `rados`/`ceph` read it too): ${CMAKE_BINARY_DIR}/ceph/ceph.conf, auth none,
# client name client.admin, pools of size 1.
#
# Skip rule (the fixture's and every RADOS test's): when Ceph is not installed
# and CI != true, skip (exit 77 for scripts; GTEST_SKIP() for gtest); when
# CI=true, a cluster that is not up is a FAILURE. A skipped rados_cluster_start
# counts as passed for CTest, so the tests still run and must skip themselves:
# test "is CEPH_CONF's cluster up" (e.g. rados_connect with
# client_mount_timeout = 10 succeeds), and if not, skip unless
# getenv("CI") == "true".
#
# Fault tests (scripts/ceph-dev.sh osd-stop/osd-start/full ...) change the one
# cluster every test shares: register them with SERIAL (RUN_SERIAL), so no
# other test runs meanwhile.
#
# Only in full builds: with TIERFS_UNIT_ONLY (the sanitizer builds) there is no
# cluster fixture, and these functions register nothing.
#
# 1. A script or any command:
#
#      tierfs_rados_test(NAME my_rados_test
#                        COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/my_test.sh
#                        [SERIAL] [TIMEOUT 120] [ENVIRONMENT "A=1;B=2"])
#
# 2. A gtest executable built in, say, tests/store (each TEST becomes a CTest
#    test; GTEST_SKIP() is reported by CTest as skipped):
#
#      add_executable(rados_backend_test rados_backend_test.cc)
#      target_link_libraries(rados_backend_test PRIVATE tierfs_store
#                            GTest::gtest GTest::gtest_main)
#      tierfs_rados_gtest(rados_backend_test [SERIAL] [TIMEOUT 300])
#
#    which is the same as
#
#      gtest_discover_tests(rados_backend_test DISCOVERY_TIMEOUT 60
#                           PROPERTIES ${TIERFS_RADOS_TEST_PROPERTIES}
#                                      SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
#                                      RUN_SERIAL TRUE)
#
#    Put fault tests and fast tests in separate executables (or use two
#    gtest_discover_tests calls with TEST_FILTER) if only some need SERIAL.
#
# 3. By hand: set_tests_properties(T PROPERTIES ${TIERFS_RADOS_TEST_PROPERTIES}).

set(TIERFS_CEPH_PORT "" CACHE STRING
    "Mon port of the test cluster (scripts/ceph-dev.sh CEPH_DEV_PORT; empty: its default, 13300)")
set(TIERFS_CEPH_DIR "${CMAKE_BINARY_DIR}/ceph")
set(TIERFS_CEPH_CONF "${TIERFS_CEPH_DIR}/ceph.conf")
set(TIERFS_CEPH_DEV "${PROJECT_SOURCE_DIR}/scripts/ceph-dev.sh")

# The properties every RADOS test has. ENVIRONMENT holds one variable only,
# so that the list survives gtest_discover_tests' PROPERTIES. The cluster dir
# (for `ceph-dev.sh osd-stop DIR` and the like) is CEPH_CONF's directory; a
# C++ fault test can get the script's path with
#   target_compile_definitions(T PRIVATE TIERFS_CEPH_DEV="${TIERFS_CEPH_DEV}")
set(TIERFS_RADOS_TEST_PROPERTIES
    LABELS rados
    FIXTURES_REQUIRED rados_cluster
    SKIP_RETURN_CODE 77
    ENVIRONMENT "CEPH_CONF=${TIERFS_CEPH_CONF}")

# tierfs_rados_test(NAME name COMMAND cmd... [SERIAL] [TIMEOUT s] [ENVIRONMENT list])
function(tierfs_rados_test)
  cmake_parse_arguments(R "SERIAL" "NAME;TIMEOUT" "COMMAND;ENVIRONMENT" ${ARGN})
  if(NOT R_NAME OR NOT R_COMMAND)
    message(FATAL_ERROR "tierfs_rados_test: NAME and COMMAND are required")
  endif()
  if(TIERFS_UNIT_ONLY)
    return()
  endif()
  if(NOT R_TIMEOUT)
    set(R_TIMEOUT 300)
  endif()
  add_test(NAME ${R_NAME} COMMAND ${R_COMMAND})
  set_tests_properties(${R_NAME} PROPERTIES ${TIERFS_RADOS_TEST_PROPERTIES} TIMEOUT ${R_TIMEOUT})
  set_property(TEST ${R_NAME} APPEND PROPERTY ENVIRONMENT "CEPH_DEV=${TIERFS_CEPH_DEV}")
  if(R_ENVIRONMENT)
    set_property(TEST ${R_NAME} APPEND PROPERTY ENVIRONMENT ${R_ENVIRONMENT})
  endif()
  if(R_SERIAL)
    set_tests_properties(${R_NAME} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# tierfs_rados_gtest(TARGET [SERIAL] [TIMEOUT s])
function(tierfs_rados_gtest target)
  cmake_parse_arguments(R "SERIAL" "TIMEOUT" "" ${ARGN})
  if(TIERFS_UNIT_ONLY)
    return()
  endif()
  if(NOT R_TIMEOUT)
    set(R_TIMEOUT 300)
  endif()
  set(extra TIMEOUT ${R_TIMEOUT})
  if(R_SERIAL)
    list(APPEND extra RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60
    PROPERTIES ${TIERFS_RADOS_TEST_PROPERTIES}
               SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]"
               ${extra})
endfunction()
