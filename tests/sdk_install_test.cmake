# ctest: installs the SDK from the build folder, builds examples/sdk against the
# installed tree (CMake package, shared and static; then pkg-config) and runs it.
#   cmake -DBUILD=<build dir> -DSOURCE=<source dir> -P sdk_install_test.cmake
set(prefix ${BUILD}/sdk-test/install)
set(app ${BUILD}/sdk-test/app)
file(REMOVE_RECURSE ${BUILD}/sdk-test)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${ARGN}\n${out}${err}")
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "failed (${code}): ${ARGN}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix} --component sdk)
foreach(file include/mixq/mixq.h include/mixq/version.h lib/libmixq.a lib/cmake/mixq/mixqConfig.cmake
             lib/pkgconfig/mixq.pc bin/mixq)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "not installed: ${file}")
  endif()
endforeach()
file(GLOB shared ${prefix}/lib/libmixq.so*)
if(NOT shared)
  message(FATAL_ERROR "not installed: lib/libmixq.so")
endif()

run(${CMAKE_COMMAND} -S ${SOURCE}/examples/sdk -B ${app} -G Ninja -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${app})
foreach(exe app app_static)
  run(${app}/${exe})
  if(NOT last_output MATCHES ": ok")
    message(FATAL_ERROR "${exe} did not print ': ok'")
  endif()
endforeach()

# pkg-config: the same program compiled by hand with the flags mixq.pc gives.
find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  run(${PKG_CONFIG} --cflags --libs mixq)
  string(STRIP "${last_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(c++ -std=c++20 ${SOURCE}/examples/sdk/main.cc ${flags} -Wl,-rpath,${prefix}/lib -o ${app}/app_pkgconfig)
  run(${app}/app_pkgconfig)
  if(NOT last_output MATCHES ": ok")
    message(FATAL_ERROR "app_pkgconfig did not print ': ok'")
  endif()
else()
  message(STATUS "pkg-config not found: the pkg-config build is skipped")
endif()
