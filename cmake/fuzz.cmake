# libFuzzer targets, tests/fuzz/fuzz_NAME.c. Included from CMakeLists.txt.
#
# With RFM_FUZZ=ON (clang) each target is a libFuzzer binary; scripts/fuzz.sh
# builds and runs them. In every other build the same sources are linked with
# a small replay main instead and run over their corpus as ordinary tests, so
# inputs that once crashed stay fixed under gcc and the sanitizer build too.

set(RFM_FUZZ_TARGETS event config snapshot csv)

foreach(name ${RFM_FUZZ_TARGETS})
  if(RFM_FUZZ)
    add_executable(fuzz_${name} tests/fuzz/fuzz_${name}.c)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  else()
    add_executable(fuzz_${name} tests/fuzz/fuzz_${name}.c tests/fuzz/replay.c)
    add_test(NAME fuzz_corpus_${name}
             COMMAND fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  endif()
  target_link_libraries(fuzz_${name} PRIVATE rfm_engine)
endforeach()

# Writes the snapshot seeds: seed_snapshot tests/fuzz/corpus/snapshot
if(NOT RFM_FUZZ)
  add_executable(seed_snapshot tests/fuzz/seed_snapshot.c)
  target_link_libraries(seed_snapshot PRIVATE rfm_engine)
endif()
