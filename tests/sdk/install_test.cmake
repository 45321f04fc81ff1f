# The installed SDK, used the way a vendor does (CTest sdk_install_template):
#  1. cmake --install of this build's "sdk" component into a fresh prefix; every SDK
#     file must be there;
#  2. a copy of sdk/template is configured and built out of tree against that prefix
#     only (find_package(cgrad-sdk)); no compile command may name the source tree;
#  3. the template plugin is loaded through its manifest (CG_PLUGIN_PATH) and must pass
#     `cgrad conformance template` with no failure and no skipped numerics rule;
#  4. cmake --install of the template puts it into <prefix>/share/cgrad/plugins.d, where
#     the loader finds it;
#  5. pkg-config --cflags --libs cgrad-sdk builds and runs a program using the library.
# Variables: BUILD_DIR SRC_DIR WORK TOOL REF_MANIFEST LIBDIR REPORT GENERATOR CC FLAGS.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}${err}")
  endif()
  set(OUT "${out}${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK}")
set(prefix "${WORK}/prefix")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --component sdk --prefix "${prefix}")
foreach(f include/cgrad/plugin.h include/cgrad/ir.h include/cgrad/ir_util.h include/cgrad/cstyle.h
          ${LIBDIR}/libcgrad-sdk.a ${LIBDIR}/cmake/cgrad-sdk/cgrad-sdk-config.cmake
          ${LIBDIR}/cmake/cgrad-sdk/cgrad-plugin.cmake ${LIBDIR}/pkgconfig/cgrad-sdk.pc)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "the SDK install lacks ${f}")
  endif()
endforeach()
if(EXISTS "${prefix}/include/cgrad/cgrad.h" OR EXISTS "${prefix}/bin")
  message(FATAL_ERROR "the sdk component installed more than the SDK")
endif()

# 2. out-of-tree build of a copy of the template
file(COPY "${SRC_DIR}/sdk/template/" DESTINATION "${WORK}/template")
run(${CMAKE_COMMAND} -S "${WORK}/template" -B "${WORK}/build" -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${CC}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_C_FLAGS=${FLAGS}" "-DCMAKE_MODULE_LINKER_FLAGS=${FLAGS}"
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(${CMAKE_COMMAND} --build "${WORK}/build")
file(READ "${WORK}/build/compile_commands.json" cmds)
string(FIND "${cmds}" "${SRC_DIR}/sdk/" hit1)
string(FIND "${cmds}" "${SRC_DIR}/core/" hit2)
if(NOT hit1 EQUAL -1 OR NOT hit2 EQUAL -1)
  message(FATAL_ERROR "the template build used the source tree:\n${cmds}")
endif()
if(NOT EXISTS "${WORK}/build/plugins.d/template.yaml")
  message(FATAL_ERROR "cg_add_plugin wrote no manifest")
endif()

# 3. conformance through the manifest
set(ENV{CG_PLUGIN_PATH} "${WORK}/build/plugins.d:${REF_MANIFEST}")
set(ENV{CG_CACHE_DIR} "${WORK}/cache")
execute_process(COMMAND "${TOOL}" conformance template --report "${REPORT}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "template: [0-9]+ passed, 0 failed" OR out MATCHES "SKIP 7")
  message(FATAL_ERROR "the template plugin did not pass conformance (exit ${rc})")
endif()

# 4. install the plugin next to the SDK; the loader finds it there
run(${CMAKE_COMMAND} --install "${WORK}/build" --prefix "${prefix}")
set(ENV{CG_PLUGIN_PATH} "${prefix}/share/cgrad/plugins.d")
run("${TOOL}" plugins)
if(NOT OUT MATCHES "template +loaded" OR NOT OUT MATCHES "share/cgrad/plugins.d/libcgrad-template.so")
  message(FATAL_ERROR "installed template plugin not loaded:\n${OUT}")
endif()

# 5. pkg-config
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  run("${PKG_CONFIG}" --cflags --libs cgrad-sdk)
  string(STRIP "${OUT}" pc)
  separate_arguments(pc UNIX_COMMAND "${pc}")
  file(WRITE "${WORK}/pc.c" "#include <cgrad/ir_util.h>\n#include <stdlib.h>\nint main(void) {\n"
       "  cg_ir_builder *b = cg_irb_new(\"k\");\n  cg_ir_program *p = cg_irb_finish(b);\n  char e[128];\n"
       "  int rc = p && cg_ir_verify(p, p->total_size, e, sizeof e) == 0 ? 0 : 1;\n"
       "  free(p);\n  cg_irb_free(b);\n  return rc;\n}\n")
  separate_arguments(flags UNIX_COMMAND "${FLAGS}")
  run("${CC}" ${flags} "${WORK}/pc.c" -o "${WORK}/pc" ${pc})
  run("${WORK}/pc")
else()
  message("pkg-config not found: the .pc file was checked for presence only")
endif()
message("SDK install test passed")
