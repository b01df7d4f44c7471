#pragma once

// A hostile HTTP server for client tests: on 127.0.0.1, it answers every
// connection's first request with the same canned bytes and closes it.

#include <atomic>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ports.hpp"

namespace durable::test {

class fake_http_server {
public:
  explicit fake_http_server(std::string answer) : answer_(std::move(answer)) {
    listener_ = listen_loopback(16, port_);
    thread_ = std::thread{[this] { serve(); }};
  }

  ~fake_http_server() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  fake_http_server(const fake_http_server&) = delete;
  fake_http_server& operator=(const fake_http_server&) = delete;

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1)
        continue;
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0)
        continue;
      // Reads the request (small: one read is enough on loopback).
      pollfd q{fd, POLLIN, 0};
      char scratch[4096];
      if (::poll(&q, 1, 1000) == 1)
        (void)::read(fd, scratch, sizeof(scratch));
      (void)::send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      ::close(fd);
    }
  }

  std::string answer_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace durable::test
