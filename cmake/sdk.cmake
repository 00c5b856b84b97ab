# The C++ SDK: a shared library next to the static one, and the install rules
# that let an outside project use either through find_package(mixq) or pkg-config.
#
#   mixq::mixq         the shared library (libmixq.so; its dependencies stay private)
#   mixq::mixq_static  the static library (libmixq.a; pulls protobuf-lite, oneDNN, threads)
include(CMakePackageConfigHelpers)

# Built from the static library's objects (no second compile): the whole
# archive goes in, so every public symbol is there even if nothing uses it yet.
configure_file(${PROJECT_SOURCE_DIR}/cmake/shared_entry.cc.in ${PROJECT_BINARY_DIR}/generated/shared_entry.cc @ONLY)
add_library(mixq_shared SHARED ${PROJECT_BINARY_DIR}/generated/shared_entry.cc)
target_link_libraries(mixq_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,mixq>")
target_include_directories(mixq_shared PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<BUILD_INTERFACE:${MIXQ_GENERATED_INCLUDE}>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(mixq_shared PROPERTIES OUTPUT_NAME mixq EXPORT_NAME mixq VERSION ${PROJECT_VERSION}
                                             SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
set_target_properties(mixq PROPERTIES EXPORT_NAME mixq_static)

set(MIXQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mixq)
install(TARGETS mixq mixq_shared mixq_onnx_proto mixq_dnnl EXPORT mixqTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mixq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk
        FILES_MATCHING PATTERN "*.h")
install(FILES ${MIXQ_GENERATED_INCLUDE}/mixq/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mixq COMPONENT sdk)
install(TARGETS mixq_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sdk)
install(EXPORT mixqTargets NAMESPACE mixq:: DESTINATION ${MIXQ_CMAKE_DIR} COMPONENT sdk)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mixqConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/generated/mixqConfig.cmake INSTALL_DESTINATION ${MIXQ_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/generated/mixqConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/generated/mixqConfig.cmake ${PROJECT_BINARY_DIR}/generated/mixqConfigVersion.cmake
        DESTINATION ${MIXQ_CMAKE_DIR} COMPONENT sdk)

file(RELATIVE_PATH MIXQ_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${PROJECT_SOURCE_DIR}/cmake/mixq.pc.in ${PROJECT_BINARY_DIR}/generated/mixq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/generated/mixq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
