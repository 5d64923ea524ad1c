# ruth_embed_files(<out.c> <symbol> <files...>)
# Generates a C source holding each file's bytes (NUL-terminated) and a table
#   const struct embedded_file <symbol>[]; const size_t <symbol>_count;
# so binaries carry their schemas and migrations and need no install paths.
# struct embedded_file is declared in common/embedded.h.
function(ruth_embed_files out symbol)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
endfunction()
