# Installation of the embeddable runtime (issue 5): headers, the runtime library and the three it
# needs (agent for online learning, policies, telemetry), and a CMake package so `find_package(hetsched)` works:
#   find_package(hetsched REQUIRED)
#   target_link_libraries(app PRIVATE hetsched::hetsched_runtime)
# Included from the top-level CMakeLists.txt; examples/ builds against the installed package.
include(CMakePackageConfigHelpers)

install(TARGETS hetsched_runtime hetsched_agent hetsched_policies hetsched_telemetry EXPORT hetschedTargets
  ARCHIVE DESTINATION lib LIBRARY DESTINATION lib INCLUDES DESTINATION include)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/hetsched DESTINATION include)
# The public headers include these two by their in-tree path.
install(FILES ${PROJECT_SOURCE_DIR}/telemetry/status.hpp ${PROJECT_SOURCE_DIR}/telemetry/clock.hpp
  DESTINATION include/telemetry)
install(EXPORT hetschedTargets NAMESPACE hetsched:: DESTINATION lib/cmake/hetsched)
configure_package_config_file(${PROJECT_SOURCE_DIR}/runtime/cmake/hetschedConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hetschedConfig.cmake INSTALL_DESTINATION lib/cmake/hetsched)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hetschedConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hetschedConfig.cmake ${PROJECT_BINARY_DIR}/hetschedConfigVersion.cmake
  DESTINATION lib/cmake/hetsched)
