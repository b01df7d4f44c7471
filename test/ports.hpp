#pragma once

// Free TCP ports on 127.0.0.1 for tests that start real servers.

#include <cstdint>
#include <mutex>
#include <set>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace durable::test {

/// A port that was free a moment ago on 127.0.0.1, and not handed out
/// before by this process (the kernel may give a just-closed ephemeral port
/// again, and a catalog with one port twice is refused).
inline uint16_t free_port() {
  static std::mutex mtx;
  static std::set<uint16_t> given;
  std::lock_guard<std::mutex> guard{mtx};
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    auto port = ntohs(addr.sin_port);
    if (given.insert(port).second)
      return port;
  }
}

/// A TCP socket listening on an ephemeral port of 127.0.0.1 with `backlog`;
/// returns the socket and sets `port`.
inline int listen_loopback(int backlog, uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(fd, backlog);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

} // namespace durable::test
