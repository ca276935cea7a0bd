# simpang_add_plugin(NAME SOURCES...)
#
# Builds a Simpang plugin: a MODULE library named NAME.so (no "lib" prefix) that links the SDK and
# exports nothing but the plugin entry symbol. Installed with the SDK package, so out-of-tree
# plugins use the very same function.
function(simpang_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(TARGET simpang::sdk)
    target_link_libraries(${name} PRIVATE simpang::sdk)
  else()
    target_link_libraries(${name} PRIVATE simpang_sdk)
  endif()
  if(DEFINED SIMPANG_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${SIMPANG_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()
