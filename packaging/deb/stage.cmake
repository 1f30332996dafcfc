# CPack pre-build script for the Debian package, run on the staged tree:
#  - the package installs under /usr, but its configuration belongs in /etc
#    (where rfmd and the unit look for it);
#  - man pages are shipped gzipped (Debian policy 12.1).
file(GLOB_RECURSE staged LIST_DIRECTORIES true "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*")
foreach(path IN LISTS staged)
  if(IS_DIRECTORY "${path}" AND path MATCHES "/usr/etc$")
    string(REGEX REPLACE "/usr/etc$" "" root "${path}")
    file(RENAME "${path}" "${root}/etc")
  elseif(NOT IS_DIRECTORY "${path}" AND path MATCHES "/share/man/man[1-9]/[^/]+\\.[1-9]$")
    execute_process(COMMAND gzip -9n "${path}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "gzip ${path} failed: ${rc}")
    endif()
  endif()
endforeach()
