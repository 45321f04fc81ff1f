# Install rules of the plugin SDK (CMake component "sdk"), included by sdk/CMakeLists.txt:
#   include/cgrad/{plugin,plugin_host,ir,ir_util,cstyle}.h   the SDK headers
#   lib/libcgrad-sdk.a                            IR builder/verifier/text form + cstyle
#   lib/cmake/cgrad-sdk/                          find_package(cgrad-sdk): target
#                                                 cgrad::cgrad-sdk and cg_add_plugin()
#   lib/pkgconfig/cgrad-sdk.pc                    for non-CMake builds
# `cmake --install <build> --component sdk --prefix <dir>` installs only these.
include(CMakePackageConfigHelpers)
set(_cg_sdk_dir "${CMAKE_CURRENT_LIST_DIR}/..")

# Versions, read from the headers so they cannot drift.
function(_cg_header_define file name out)
  file(STRINGS "${file}" _l REGEX "^#define ${name} [0-9]+")
  string(REGEX REPLACE "^#define ${name} ([0-9]+).*" "\\1" _v "${_l}")
  set(${out} "${_v}" PARENT_SCOPE)
endfunction()
_cg_header_define("${_cg_sdk_dir}/include/cgrad/plugin.h" CG_PLUGIN_ABI_MAJOR CG_SDK_ABI_MAJOR)
_cg_header_define("${_cg_sdk_dir}/include/cgrad/plugin.h" CG_PLUGIN_ABI_MINOR CG_SDK_ABI_MINOR)
_cg_header_define("${_cg_sdk_dir}/include/cgrad/ir.h" CG_IR_VERSION_MAJOR CG_SDK_IR_MAJOR)
_cg_header_define("${_cg_sdk_dir}/include/cgrad/ir.h" CG_IR_VERSION_MINOR CG_SDK_IR_MINOR)
set(CG_SDK_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/cgrad-sdk")

set(_cg_sdk_headers "")
foreach(_h plugin.h plugin_host.h ir.h ir_util.h cstyle.h)
  if(EXISTS "${_cg_sdk_dir}/include/cgrad/${_h}")
    list(APPEND _cg_sdk_headers "${_cg_sdk_dir}/include/cgrad/${_h}")
  endif()
endforeach()
install(FILES ${_cg_sdk_headers} DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/cgrad" COMPONENT sdk)

install(TARGETS cgrad-sdk EXPORT cgrad-sdk-targets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sdk)
install(EXPORT cgrad-sdk-targets NAMESPACE cgrad:: FILE cgrad-sdk-targets.cmake
  DESTINATION "${CG_SDK_CMAKE_INSTALL_DIR}" COMPONENT sdk)

# The package: config + version files, and cg_add_plugin() with its two data files.
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/cgrad-sdk-config.cmake.in"
  "${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk-config.cmake"
  INSTALL_DESTINATION "${CG_SDK_CMAKE_INSTALL_DIR}")
write_basic_package_version_file("${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk-config-version.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMajorVersion)
install(FILES
  "${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk-config.cmake"
  "${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk-config-version.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/cgrad-plugin.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/plugin.map"
  "${CMAKE_CURRENT_LIST_DIR}/manifest.yaml.in"
  DESTINATION "${CG_SDK_CMAKE_INSTALL_DIR}" COMPONENT sdk)

# pkg-config: paths relative to the .pc file's prefix so the install can be relocated.
file(RELATIVE_PATH CG_PC_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" CG_PC_PREFIX "${CG_PC_PREFIX}")
set(CG_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
set(CG_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/cgrad-sdk.pc.in" "${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk.pc" @ONLY)
install(FILES "${CMAKE_BINARY_DIR}/sdk-package/cgrad-sdk.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig" COMPONENT sdk)
