# METIS::METIS from Debian's libmetis-dev, which ships a header and a library but no CMake or
# pkg-config file. The redraw stage links it privately (balanced proposals); installed with
# the package config so programs linking the static stages find it too.
if(NOT TARGET METIS::METIS)
  find_path(METIS_INCLUDE_DIR metis.h REQUIRED)
  find_library(METIS_LIBRARY metis REQUIRED)
  add_library(METIS::METIS UNKNOWN IMPORTED)
  set_target_properties(METIS::METIS PROPERTIES IMPORTED_LOCATION ${METIS_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${METIS_INCLUDE_DIR})
endif()
