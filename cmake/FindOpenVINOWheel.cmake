# OpenVINO from the PyPI wheel in the repo's venv (.venv, made by ./scripts/setup from
# requirements/python.lock). The wheel carries the C and C++ headers, the shared libraries and an
# OpenVINOConfig.cmake; we use its C API (openvino/c/openvino.h), whose ABI does not depend on the
# libstdc++ string ABI the wheel was built with.
#
# Sets CARTSENSE_HAVE_OPENVINO and, when found, the imported target cartsense_openvino_c: only
# libopenvino_c and its headers, so nothing of the C++ targets' interface (e.g. the wheel's
# _GLIBCXX_USE_CXX11_ABI value) reaches our code.
# -DOpenVINO_DIR=<path> overrides the venv; -DCARTSENSE_OPENVINO=OFF disables it (the vision
# layer then has only the OpenCV dnn fallback).
option(CARTSENSE_OPENVINO "Use OpenVINO (from the venv's PyPI wheel) when present" ON)
set(CARTSENSE_HAVE_OPENVINO OFF)
if(CARTSENSE_OPENVINO)
  if(NOT OpenVINO_DIR)
    set(_cartsense_venv_python "${PROJECT_SOURCE_DIR}/.venv/bin/python")
    if(EXISTS "${_cartsense_venv_python}")
      execute_process(
        COMMAND "${_cartsense_venv_python}" -c
                "from openvino.utils import get_cmake_path; print(get_cmake_path(), end='')"
        OUTPUT_VARIABLE _cartsense_openvino_cmake
        RESULT_VARIABLE _cartsense_openvino_rc
        ERROR_QUIET)
      if(_cartsense_openvino_rc EQUAL 0 AND EXISTS "${_cartsense_openvino_cmake}")
        set(OpenVINO_DIR "${_cartsense_openvino_cmake}" CACHE PATH "OpenVINOConfig.cmake folder")
      endif()
    endif()
  endif()
  if(OpenVINO_DIR)
    find_package(OpenVINO CONFIG QUIET)
  endif()
  if(TARGET openvino::runtime::c)
    get_target_property(_cartsense_ov_c_lib openvino::runtime::c IMPORTED_LOCATION_RELEASE)
    get_target_property(_cartsense_ov_c_soname openvino::runtime::c IMPORTED_SONAME_RELEASE)
    get_target_property(_cartsense_ov_include openvino::runtime::c INTERFACE_INCLUDE_DIRECTORIES)
  endif()
  if(_cartsense_ov_c_lib AND EXISTS "${_cartsense_ov_c_lib}")
    add_library(cartsense_openvino_c SHARED IMPORTED GLOBAL)
    set_target_properties(cartsense_openvino_c PROPERTIES
      IMPORTED_LOCATION "${_cartsense_ov_c_lib}"
      IMPORTED_SONAME "${_cartsense_ov_c_soname}"
      INTERFACE_INCLUDE_DIRECTORIES "${_cartsense_ov_include}")
    set(CARTSENSE_HAVE_OPENVINO ON)
    message(STATUS "OpenVINO ${OpenVINO_VERSION} (C API) from ${OpenVINO_DIR}")
  else()
    message(STATUS "OpenVINO not found (./scripts/setup installs it into .venv): "
                   "inference uses the OpenCV dnn fallback only")
  endif()
endif()
