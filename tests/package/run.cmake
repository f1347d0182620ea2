# Installs the build into a temporary prefix, builds the example program against it with
# find_package(wangge), and runs both the example and the installed command.
# Run as: cmake -DBUILD=... -DSOURCE=... -DTMP=... -DDATA=... -P run.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${TMP}")
set(prefix "${TMP}/prefix")

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

step(${CMAKE_COMMAND} --install "${BUILD}" --prefix "${prefix}")
step(${CMAKE_COMMAND} -S "${SOURCE}" -B "${TMP}/build" -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}")
step(${CMAKE_COMMAND} --build "${TMP}/build")

# The example, through the public API: the cell count and the cell of a point.
step("${TMP}/build/count_cells" "${DATA}/tiny_grid.geojson" 110.955 35.625)
if(NOT out STREQUAL "4 cells; the point is in 14082410020001\n")
  message(FATAL_ERROR "unexpected output of the example: ${out}")
endif()

# The installed command reads the installed styles: break the installed copy of one and the
# command must name it in its error (it would not if it read the source tree's).
step("${prefix}/bin/wangge" grid import "${DATA}/tiny_grid.geojson" --workspace "${TMP}/ws.gpkg")
file(WRITE "${prefix}/share/wangge/styles/satellite-overlay.xml" "not a style")
execute_process(COMMAND "${prefix}/bin/wangge" render "${TMP}/ws.gpkg" --out "${TMP}/map.png"
                        --width 64 --height 64
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 2 OR NOT err MATCHES "share/wangge/styles")
  message(FATAL_ERROR "the installed command did not read the installed styles (${status}):\n${out}${err}")
endif()
message(STATUS "installed, built against and ran the package in ${prefix}")
