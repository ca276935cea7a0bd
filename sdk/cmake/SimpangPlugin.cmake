# simpang_add_plugin(NAME [NO_INSTALL] SOURCES...)
#
# Builds a Simpang plugin: a MODULE library named NAME.so (no "lib" prefix) that links the SDK and
# exports nothing but the plugin entry symbol. Installed with the SDK package, so out-of-tree
# plugins use this very function. Inside the Simpang tree the plugin lands in
# build/lib/simpang/plugins and installs to lib/simpang/plugins, unless NO_INSTALL (test plugins).
function(simpang_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "" ${ARGN})
  add_library(${name} MODULE ${ARG_UNPARSED_ARGUMENTS})
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
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY ${SIMPANG_PLUGIN_OUTPUT_DIR}
      INSTALL_RPATH "$ORIGIN/../..")
    if(NOT ARG_NO_INSTALL)
      install(TARGETS ${name} LIBRARY DESTINATION ${SIMPANG_PLUGIN_INSTALL_DIR})
    endif()
  endif()
endfunction()
