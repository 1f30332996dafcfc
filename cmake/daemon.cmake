# rfmd, the daemon: Kafka in, segment events out. Included from CMakeLists.txt.

add_library(rfm_log STATIC src/log.c)

pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Everything but main(), so tests could drive the daemon's modules directly.
add_library(rfmd_core STATIC
  src/rfmd/kconf.c
  src/rfmd/tracker.c
  src/rfmd/producer.c
  src/rfmd/consumer.c
  src/rfmd/embedded.c
  src/rfmd/pipeline.c
  src/rfmd/saver.c
  src/rfmd/http.c
  src/rfmd/http_api.c
  src/rfmd/http_metrics.c
  src/rfmd/reload.c
  src/rfmd/notify.c
  src/rfmd/daemon.c)
target_link_libraries(rfmd_core PUBLIC rfm_engine rfm_log PkgConfig::RDKAFKA PkgConfig::MHD
                                       PkgConfig::SYSTEMD Threads::Threads)

add_executable(rfmd src/rfmd/main.c)
target_link_libraries(rfmd PRIVATE rfmd_core)

# Unit tests of the daemon's Kafka-free parts.
add_executable(test_daemon_tracker tests/test_daemon_tracker.c)
target_link_libraries(test_daemon_tracker PRIVATE rfmd_core PkgConfig::CMOCKA)
add_test(NAME daemon_tracker COMMAND test_daemon_tracker)

add_executable(test_daemon_log tests/test_daemon_log.c)
target_link_libraries(test_daemon_log PRIVATE rfm_log PkgConfig::CMOCKA)
add_test(NAME daemon_log COMMAND test_daemon_log)

# End-to-end tests: each creates a librdkafka mock cluster in the test
# process, runs the real rfmd binary against it over TCP, and reads the
# topics back.
add_library(rfm_daemon_harness STATIC tests/daemon/harness.c tests/daemon/flo.c)
target_link_libraries(rfm_daemon_harness PUBLIC rfm_codec PkgConfig::RDKAFKA PkgConfig::JANSSON
                                                PkgConfig::CMOCKA Threads::Threads)
# A real HTTP client for the tests of rfmd's HTTP interface.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
add_library(rfm_daemon_http_client STATIC tests/daemon/http_client.c)
target_link_libraries(rfm_daemon_http_client PUBLIC PkgConfig::CURL PkgConfig::JANSSON
                                                    PkgConfig::CMOCKA)
foreach(t flo rescore dlq cli fatal crash snapshot faults rebalance http reload notify hostile)
  add_executable(test_daemon_${t} tests/test_daemon_${t}.c)
  target_link_libraries(test_daemon_${t} PRIVATE rfm_daemon_harness rfm_daemon_http_client)
  add_test(NAME daemon_${t} COMMAND test_daemon_${t} $<TARGET_FILE:rfmd>)
  set_tests_properties(daemon_${t} PROPERTIES
    TIMEOUT 120
    LABELS daemon
    ENVIRONMENT "RFM_SHARED=${CMAKE_SOURCE_DIR}/../shared;RFM_SOURCE=${CMAKE_SOURCE_DIR};RFM_BIN=${CMAKE_BINARY_DIR}")
endforeach()
set_tests_properties(daemon_tracker daemon_log PROPERTIES LABELS daemon)
set_tests_properties(daemon_crash daemon_faults PROPERTIES TIMEOUT 420)

# The same FLO flow on a real Apache Kafka broker (tests/kafka/broker.sh).
add_test(NAME daemon_kafka_real
         COMMAND ${CMAKE_SOURCE_DIR}/tests/kafka/broker.sh run --partitions 4 --
                 ${CMAKE_SOURCE_DIR}/tests/test_daemon_kafka.sh $<TARGET_FILE:rfmd>
                 $<TARGET_FILE:rfm-replay>)
set_tests_properties(daemon_kafka_real PROPERTIES
  TIMEOUT 600
  LABELS "daemon;kafka-real"
  ENVIRONMENT "RFM_SHARED=${CMAKE_SOURCE_DIR}/../shared;RFM_SOURCE=${CMAKE_SOURCE_DIR}")
