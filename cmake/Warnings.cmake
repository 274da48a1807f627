# Compiler flags shared by every cartsense target: warnings (as errors), sanitizers, -march.
# Not -Wnull-dereference: at -O2 gcc 12 reports it inside libstdc++ code inlined from CLI11
# (false positives); ASan and UBSan in the dev preset catch real null dereferences.
add_library(cartsense_flags INTERFACE)
target_compile_options(cartsense_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual>)
if(CARTSENSE_WERROR)
  target_compile_options(cartsense_flags INTERFACE -Werror)
endif()
if(CARTSENSE_ARCH)
  target_compile_options(cartsense_flags INTERFACE -march=${CARTSENSE_ARCH})
endif()
if(CARTSENSE_SANITIZE)
  target_compile_options(cartsense_flags INTERFACE
    -fsanitize=${CARTSENSE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(cartsense_flags INTERFACE -fsanitize=${CARTSENSE_SANITIZE})
endif()

# cartsense_add_library(NAME layer SOURCES ... DEPS ...): one static library per layer.
function(cartsense_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE cartsense_flags)
endfunction()
