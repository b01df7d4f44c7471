// Why this file exists: OpenSSL's SSL_get_error() looks at the calling
// thread's error queue, which must be empty before each TLS I/O call.
// caf_openssl 0.17.6 (session.cpp) never clears it, and drains it only when
// CAF logging is compiled in (Debian's build has none). So the first TLS
// failure on one connection (a peer killed: "unexpected eof"; a client that
// sends garbage) leaves an error queued in the multiplexer thread, and the
// next SSL_read on any *healthy* connection of that thread that would just
// block reports SSL_ERROR_SSL instead of SSL_ERROR_WANT_READ: CAF closes it.
// Measured here: killing one node of three dropped the link between the
// other two, every time.
//
// The fix interposes the four TLS I/O calls CAF makes: each clears the
// queue, then calls OpenSSL's own function (found with dlsym(RTLD_NEXT)).
// The executable's definitions take precedence over libssl's for every
// library in the process, and clearing first is what OpenSSL's manual asks
// of every caller, so other users of libssl are not affected.

#include "openssl_error_queue.hpp"

#include <cstdlib>

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F next_symbol(const char* name) {
  auto* fn = reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
  if (fn == nullptr)
    ::abort(); // libssl is linked: this cannot happen.
  return fn;
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) int SSL_read(SSL* ssl, void* buf,
                                                    int num) {
  static auto real = next_symbol<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_write(SSL* ssl, const void* buf,
                                                     int num) {
  static auto real = next_symbol<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

__attribute__((visibility("default"))) int SSL_accept(SSL* ssl) {
  static auto real = next_symbol<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

__attribute__((visibility("default"))) int SSL_connect(SSL* ssl) {
  static auto real = next_symbol<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace durable::cluster {

void keep_openssl_error_queue_clean() {
  // nop: referencing this function links the wrappers above.
}

} // namespace durable::cluster
