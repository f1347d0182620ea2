# Mapnik 3.1 ships no CMake or pkg-config file: build an imported target from mapnik-config.
# Its defines (-DMAPNIK_THREADSAFE, -DBIGINT, ...) must be kept or the ABI does not match;
# --libs alone misses ICU, so --dep-libs is added.
find_program(MAPNIK_CONFIG mapnik-config REQUIRED)
execute_process(COMMAND ${MAPNIK_CONFIG} --cflags OUTPUT_VARIABLE _mapnik_cflags OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${MAPNIK_CONFIG} --libs OUTPUT_VARIABLE _mapnik_libs OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${MAPNIK_CONFIG} --dep-libs OUTPUT_VARIABLE _mapnik_deplibs OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${MAPNIK_CONFIG} --input-plugins OUTPUT_VARIABLE MAPNIK_INPUT_PLUGINS OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${MAPNIK_CONFIG} --fonts OUTPUT_VARIABLE MAPNIK_FONTS OUTPUT_STRIP_TRAILING_WHITESPACE)

separate_arguments(_mapnik_cflags UNIX_COMMAND "${_mapnik_cflags}")
set(_mapnik_includes "")
set(_mapnik_defines "")
foreach(flag IN LISTS _mapnik_cflags)
  if(flag MATCHES "^-I(.+)")
    list(APPEND _mapnik_includes "${CMAKE_MATCH_1}")
  elseif(flag MATCHES "^-D(.+)")
    # Keep the match before testing again: a later MATCHES resets CMAKE_MATCH_1, which once
    # dropped every define (and with them the ABI-relevant MAPNIK_THREADSAFE and BIGINT).
    set(_define "${CMAKE_MATCH_1}")
    if(NOT _define MATCHES "^NDEBUG" AND NOT _define MATCHES "^_FORTIFY_SOURCE")
      list(APPEND _mapnik_defines "${_define}")
    endif()
  endif()
endforeach()
separate_arguments(_mapnik_link UNIX_COMMAND "${_mapnik_libs} ${_mapnik_deplibs}")

add_library(mapnik::mapnik INTERFACE IMPORTED)
set_target_properties(mapnik::mapnik PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${_mapnik_includes}"
  INTERFACE_COMPILE_DEFINITIONS "${_mapnik_defines}"
  INTERFACE_LINK_LIBRARIES "${_mapnik_link}")
