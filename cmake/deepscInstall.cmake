# Install rules and the package config, so a downstream project can `find_package(deepsc)`.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/deepsc DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS deepsc_formats deepsc_core deepsc_sparse deepsc_dictlearn deepsc_conv deepsc_nn deepsc_data deepsc_viz deepsc_train deepsc_robust deepsc_mlcsc deepsc_dist
  EXPORT deepscTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS deepsc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT deepscTargets NAMESPACE deepsc:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/deepsc)

configure_package_config_file(cmake/deepscConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/deepscConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/deepsc)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/deepscConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/deepscConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/deepscConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/deepsc)
