#include "tcp_probe.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "durable/errc.hpp"

namespace durable::cluster {

namespace {

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Connects `fd` to `addr` by `deadline`; 0 or an errno value.
int connect_by(int fd, const addrinfo& addr,
               std::chrono::steady_clock::time_point deadline) {
  if (::connect(fd, addr.ai_addr, addr.ai_addrlen) == 0)
    return 0;
  if (errno != EINPROGRESS)
    return errno;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    auto rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0)
      return rc == 0 ? ETIMEDOUT : errno;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
  }
}

} // namespace

caf::error probe_tcp(const std::string& host, uint16_t port,
                     caf::timespan timeout) {
  auto where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    return make_error(errc::unavailable,
                      "cannot resolve " + where + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard{found, &freeaddrinfo};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int last = ETIMEDOUT;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    fd_guard fd{::socket(a->ai_family,
                         a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         a->ai_protocol)};
    if (fd.fd < 0) {
      last = errno;
      continue;
    }
    last = connect_by(fd.fd, *a, deadline);
    if (last == 0)
      return caf::none;
  }
  return make_error(errc::unavailable,
                    "cannot connect to " + where + ": " + std::strerror(last));
}

} // namespace durable::cluster
