# cg_add_plugin(<id> SOURCES ... [PRIORITY n] [DEVICE_TYPES "cpu"] [DISPLAY "name"]
#               [IR_MIN "1.0"] [IR_MAX "1.0"] [MANIFEST_DIR dir] [NO_INSTALL])
# Builds a backend plugin as a MODULE library libcgrad-<id>.so (target
# cgrad-plugin-<id>) with only cg_plugin_entry exported (hidden visibility + version
# script, no undefined symbols), linked to the SDK library, and writes its YAML
# manifest <id>.yaml next to it (MANIFEST_DIR, default: this build's plugins.d). Both
# are installed into CG_PLUGIN_INSTALL_DIR when that is set (the installed SDK package
# sets it to share/cgrad/plugins.d) unless NO_INSTALL is given. The manifest's ABI
# version is the one of the plugin.h the plugin is compiled against.
# Used in-tree and shipped in the installed SDK's CMake package for vendors.
set(_CG_PLUGIN_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")
if(NOT DEFINED CGRAD_SDK_ABI_MAJOR)  # in-tree: read the version from the header
  file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../include/cgrad/plugin.h" _cg_abi_lines
       REGEX "^#define CG_PLUGIN_ABI_(MAJOR|MINOR) [0-9]+")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*" "\\1" CGRAD_SDK_ABI_MAJOR "${_cg_abi_lines}")
  string(REGEX REPLACE ".*MINOR ([0-9]+).*" "\\1" CGRAD_SDK_ABI_MINOR "${_cg_abi_lines}")
endif()
function(cg_add_plugin id)
  cmake_parse_arguments(P "NO_INSTALL" "PRIORITY;DEVICE_TYPES;DISPLAY;MANIFEST_DIR;IR_MIN;IR_MAX" "SOURCES" ${ARGN})
  if("${P_PRIORITY}" STREQUAL "")  # PRIORITY 0 is valid (null): not if(NOT ...)
    set(P_PRIORITY 10)
  endif()
  if(NOT P_DEVICE_TYPES)
    set(P_DEVICE_TYPES "cpu")
  endif()
  if(NOT P_DISPLAY)
    set(P_DISPLAY "${id}")
  endif()
  if(NOT P_IR_MIN)
    set(P_IR_MIN "1.0")
  endif()
  if(NOT P_IR_MAX)
    set(P_IR_MAX "1.0")
  endif()
  if(NOT P_MANIFEST_DIR)
    if(DEFINED CG_PLUGIN_BUILD_DIR)
      set(P_MANIFEST_DIR "${CG_PLUGIN_BUILD_DIR}")
    else()
      set(P_MANIFEST_DIR "${CMAKE_BINARY_DIR}/plugins.d")
    endif()
  endif()
  set(tgt cgrad-plugin-${id})
  add_library(${tgt} MODULE ${P_SOURCES})
  set_target_properties(${tgt} PROPERTIES PREFIX "lib" OUTPUT_NAME "cgrad-${id}"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden C_STANDARD 11
    LIBRARY_OUTPUT_DIRECTORY "${P_MANIFEST_DIR}")
  target_link_options(${tgt} PRIVATE "-Wl,--version-script=${_CG_PLUGIN_CMAKE_DIR}/plugin.map" "-Wl,--no-undefined")
  if(TARGET cgrad-sdk)
    target_link_libraries(${tgt} PRIVATE cgrad-sdk)
  elseif(TARGET cgrad::cgrad-sdk)
    target_link_libraries(${tgt} PRIVATE cgrad::cgrad-sdk)
  endif()
  set(CG_MANIFEST_ID "${id}")
  set(CG_MANIFEST_NAME "${P_DISPLAY}")
  set(CG_MANIFEST_LIB "libcgrad-${id}.so")
  set(CG_MANIFEST_PRIORITY "${P_PRIORITY}")
  set(CG_MANIFEST_TYPES "${P_DEVICE_TYPES}")
  set(CG_MANIFEST_IR_MIN "${P_IR_MIN}")
  set(CG_MANIFEST_IR_MAX "${P_IR_MAX}")
  set(CG_MANIFEST_ABI "${CGRAD_SDK_ABI_MAJOR}.${CGRAD_SDK_ABI_MINOR}")
  configure_file("${_CG_PLUGIN_CMAKE_DIR}/manifest.yaml.in" "${P_MANIFEST_DIR}/${id}.yaml" @ONLY)
  if(DEFINED CG_PLUGIN_INSTALL_DIR AND NOT P_NO_INSTALL)
    install(TARGETS ${tgt} LIBRARY DESTINATION "${CG_PLUGIN_INSTALL_DIR}")
    install(FILES "${P_MANIFEST_DIR}/${id}.yaml" DESTINATION "${CG_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
