# rfm-replay (historical orders into Kafka) and the tests that need a real
# Apache Kafka broker. Included from CMakeLists.txt.
#
# Tests labelled "kafka-real" start a broker with tests/kafka/broker.sh (Java 17,
# Kafka fetched once from Maven Central into ~/.cache/rfmd); skip them with
# `ctest -LE kafka-real`.

add_executable(rfm-replay tools/rfm_replay.c tools/replay_kafka.c)
target_link_libraries(rfm-replay PRIVATE rfm_engine PkgConfig::RDKAFKA m)

set(RFM_TEST_ENV
    "RFM_SHARED=${CMAKE_SOURCE_DIR}/../shared;RFM_SOURCE=${CMAKE_SOURCE_DIR};RFM_BIN=${CMAKE_BINARY_DIR}")

find_program(RFM_PYTHON3 python3)

# Fast, no Kafka: the JSONL rfm-replay writes, its options and exit codes.
if(RFM_PYTHON3)
  add_test(NAME replay_stdout
           COMMAND ${RFM_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/test_replay_stdout.py
                   $<TARGET_FILE:rfm-replay>)
  set_tests_properties(replay_stdout PROPERTIES
    TIMEOUT 120
    LABELS replay
    ENVIRONMENT "${RFM_TEST_ENV}")
endif()

# A real broker: replayed orders arrive complete and keyed by customer.
add_test(NAME replay_kafka
         COMMAND ${CMAKE_SOURCE_DIR}/tests/kafka/broker.sh run --partitions 3 --
                 ${CMAKE_SOURCE_DIR}/tests/test_replay_kafka.sh $<TARGET_FILE:rfm-replay>)
set_tests_properties(replay_kafka PROPERTIES
  TIMEOUT 600
  LABELS "kafka-real;replay"
  ENVIRONMENT "${RFM_TEST_ENV}")
