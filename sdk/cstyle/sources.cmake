# cstyle renderer sources, compiled into the cgrad-sdk static library (included by
# sdk/CMakeLists.txt when present).
list(APPEND CG_SDK_EXTRA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/render.c
  ${CMAKE_CURRENT_LIST_DIR}/dialects.c)
