# DURABLE_TSAN: builds everything with ThreadSanitizer (`make tsan`).
#
# TSan only sees the synchronisation of code it instruments. Debian's libcaf
# is not instrumented, so every message handed from one thread to another
# through a CAF mailbox looks like a race. Point CAF_ROOT at a CAF built with
# -fsanitize=thread (cmake/build-caf-tsan.sh; `make tsan` does both).
#
# Sets DURABLE_SANITIZER_ENV (the tests' environment) and
# DURABLE_SANITIZER_FLAGS (for the find_package consumer test).

if(NOT DURABLE_TSAN)
  return()
endif()
if(DURABLE_SANITIZE)
  message(FATAL_ERROR "DURABLE_TSAN and DURABLE_SANITIZE exclude each other: "
                      "ThreadSanitizer cannot run beside AddressSanitizer")
endif()

# The CAF found must carry TSan's instrumentation itself.
execute_process(COMMAND nm -D "${CAF_core_LIBRARY}"
                OUTPUT_VARIABLE caf_symbols ERROR_QUIET)
if(NOT caf_symbols MATCHES "__tsan_func_entry")
  message(WARNING "DURABLE_TSAN: ${CAF_core_LIBRARY} is not built with "
                  "ThreadSanitizer, expect false reports on every CAF mailbox "
                  "hand-off. Use `make tsan` (sets CAF_ROOT).")
endif()

set(DURABLE_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
add_compile_options(${DURABLE_SANITIZER_FLAGS})
add_link_options(-fsanitize=thread)

# Every report fails the test at its exit (exitcode 66) but does not stop it,
# so that one run lists all of them. second_deadlock_stack and a longer
# history make the second stack of a report complete.
set(tsan_options
    "halt_on_error=0"
    "exitcode=66"
    "second_deadlock_stack=1"
    "history_size=4"
    "suppressions=${CMAKE_CURRENT_LIST_DIR}/tsan.supp")
string(REPLACE ";" ":" tsan_options "${tsan_options}")
set(DURABLE_SANITIZER_ENV "TSAN_OPTIONS=${tsan_options}")
# The consumer test runs find_package(caf_durable), which must find the same
# instrumented CAF.
if(CAF_ROOT)
  list(APPEND DURABLE_SANITIZER_ENV "CAF_ROOT=${CAF_ROOT}")
endif()
