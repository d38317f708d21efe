# Packaging (SPEC §8): `cpack -G DEB` in a build directory writes
# reservoir_<version>_<arch>.deb with /usr/bin/reservoir (tools/CMakeLists.txt),
# the systemd unit, /etc/reservoir/reservoir.conf (a conffile), the man page
# (made from each subcommand's --help at packaging time) and the docs. The
# maintainer scripts create the `reservoir` user and /var/lib/reservoir.
# tools/package/test-package.sh builds, installs, runs and purges it.
set(RESERVOIR_PACKAGE_DIR ${CMAKE_CURRENT_LIST_DIR})

install(CODE "
  execute_process(COMMAND ${RESERVOIR_PACKAGE_DIR}/make-manpage.sh
    \"$<TARGET_FILE:reservoir>\" ${PROJECT_VERSION} ${CMAKE_BINARY_DIR}/package/reservoir.1.gz
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"make-manpage.sh failed: \${rc}\")
  endif()")
install(FILES ${CMAKE_BINARY_DIR}/package/reservoir.1.gz DESTINATION share/man/man1)
install(FILES ${RESERVOIR_PACKAGE_DIR}/reservoir.service DESTINATION /lib/systemd/system)
# Only root and the service's group may read it (postinst sets the group):
# it may hold the admin key.
install(FILES ${RESERVOIR_PACKAGE_DIR}/reservoir.conf DESTINATION /etc/reservoir
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/OPERATIONS.md
  ${RESERVOIR_PACKAGE_DIR}/copyright DESTINATION share/doc/reservoir)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME reservoir)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "event-sourced reservation engine with a REST API")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "Reservoir decides every reservation command on one writer thread, makes its\n"
  "events durable in an event log before it answers, and serves queries from\n"
  "RocksDB views built from that log. The package runs it as a systemd service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Reservoir maintainers <reservoir@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The runtime libraries (RocksDB, librdkafka, cpp-httplib, fmt, OpenSSL...)
# come from dpkg-shlibdeps (package dpkg-dev); passwd has the useradd of postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${RESERVOIR_PACKAGE_DIR}/conffiles ${RESERVOIR_PACKAGE_DIR}/postinst
  ${RESERVOIR_PACKAGE_DIR}/prerm ${RESERVOIR_PACKAGE_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
