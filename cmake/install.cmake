# Installation and the Debian package. Included from CMakeLists.txt after
# the daemon and the tools are defined; its tests are in tests/CMakeLists.txt.
#
#   cmake --install build --prefix DIR   lays out, relative to DIR:
#     bin/rfmd bin/rfmctl bin/rfm-replay
#     etc/rfmd/rfmd.yaml
#     lib/systemd/system/rfmd.service lib/systemd/system/rfmd@.service
#     lib/sysusers.d/rfmd.conf
#     share/man/man8/rfmd.8 share/man/man1/{rfmctl,rfm-replay}.1
#     share/doc/rfmd/README.md share/doc/rfmd/contract.md
#   cpack -G DEB (in the build directory) packages the same under /usr, except
#   the configuration, which goes to /etc/rfmd (a conffile).
#
# The units start /usr/bin/rfmd: they are written for the package's layout.
# rfmd@.service is the template for several instances on one host.

include(GNUInstallDirs)

set(RFM_INSTALL_CONFDIR "${CMAKE_INSTALL_SYSCONFDIR}/rfmd" CACHE STRING
    "Where rfmd.yaml is installed (relative to the prefix unless absolute)")
set(RFM_INSTALL_UNITDIR "lib/systemd/system" CACHE STRING
    "Where rfmd.service and rfmd@.service are installed (relative to the prefix unless absolute)")
set(RFM_INSTALL_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "Where the sysusers.d(5) file is installed (relative to the prefix unless absolute)")

install(TARGETS rfmd rfmctl rfm-replay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES conf/rfmd.yaml DESTINATION ${RFM_INSTALL_CONFDIR})
install(FILES systemd/rfmd.service systemd/rfmd@.service DESTINATION ${RFM_INSTALL_UNITDIR})
install(FILES systemd/rfmd.sysusers.conf DESTINATION ${RFM_INSTALL_SYSUSERSDIR} RENAME rfmd.conf)
install(FILES man/rfmd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES man/rfmctl.1 man/rfm-replay.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES README.md docs/contract.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- Debian package -------------------------------------------------------

set(CPACK_PACKAGE_NAME rfmd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "rfmd")
set(CPACK_PACKAGE_CONTACT "rfmd maintainers <rfmd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming RFM segmentation daemon for Kafka")
set(CPACK_PACKAGE_DESCRIPTION
    "rfmd consumes order events from Kafka, keeps per-customer recency, frequency and\n"
    "monetary state, rescores customers on a schedule and publishes segment-change\n"
    "events. Includes rfmctl (batch scoring, snapshot inspection), rfm-replay\n"
    "(historical orders into Kafka) and a hardened systemd unit.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "librdkafka1, libyaml-0-2, libjansson4, libmicrohttpd12, libsystemd0, libxxhash0, zlib1g")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Staged under /usr like everything else; stage.cmake moves the configuration
# to /etc and compresses the man pages.
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/packaging/deb/stage.cmake)
include(CPack)
