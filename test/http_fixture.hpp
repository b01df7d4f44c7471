#pragma once

// What the HTTP front door's suites share: an echo object (slow, throwing and
// counting on request), a fixture with a real deployment and a server on an
// ephemeral port, and the JSON error body the server sends. Include after
// <boost/test/unit_test.hpp> (the fixture checks with Boost.Test).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <unistd.h>

#include <caf/all.hpp>

#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/fetch.hpp"
#include "durable/http_server.hpp"
#include "durable/object.hpp"

namespace durable::test {

// -- the object under test ----------------------------------------------------

using echo_api = caf::typed_actor<durable::fetch_signature>;

/// Objects currently inside a slow handler.
inline std::atomic<int> sleeping{0};

/// Slow handlers that finished.
inline std::atomic<int> slept{0};

inline bool has(const std::string& url, const char* part) {
  return url.find(part) != std::string::npos;
}

/// Echoes what it received into response headers and the body; "/inc"
/// counts, "/throw" throws, "/sleep?ms=N" blocks N ms, an `x-status` header
/// picks the status and `x-inject` asks for a header that would break the
/// response framing.
class echo : public durable::object<echo_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](durable::fetch_request& req) {
          if (has(req.url, "/throw"))
            throw std::runtime_error("boom: " + req.url);
          if (has(req.url, "/sleep")) {
            auto ms = std::stoi(req.url.substr(req.url.find("ms=") + 3));
            ++sleeping;
            std::this_thread::sleep_for(std::chrono::milliseconds{ms});
            --sleeping;
            ++slept;
          }
          if (has(req.url, "/inc"))
            ++count_;
          durable::fetch_response resp;
          if (auto status = req.header("x-status"))
            resp.status = static_cast<uint16_t>(std::stoi(*status));
          resp.headers = {{"x-method", req.method},
                          {"x-url", req.url},
                          {"x-object", id().name()},
                          {"x-id", id().to_string()},
                          {"x-count", std::to_string(count_)},
                          {"x-headers", std::to_string(req.headers.size())}};
          if (auto tag = req.header("X-TAG"))
            resp.headers.emplace_back("x-tag", *tag);
          if (req.header("x-inject"))
            resp.headers.emplace_back("x-bad", "a\r\nx-evil: 1");
          resp.body = std::move(req.body);
          return resp;
        },
    };
  }

private:
  int64_t count_ = 0;
};

using echo_ns = durable::object_namespace<echo_api>;

// -- fixture ------------------------------------------------------------------

struct fixture {
  durable::config cfg;
  caf::actor_system sys;
  std::string data_dir;
  durable::deployment dep;
  echo_ns ns;
  std::unique_ptr<durable::http::server> srv;

  explicit fixture(durable::http::server_options opts = {},
                   durable::namespace_options ns_opts = {})
      : sys(init(cfg)),
        data_dir("/tmp/durable-http-test-" + std::to_string(::getpid())),
        dep(open(sys, data_dir)),
        ns(must(dep.bind<echo>("echo", ns_opts))) {
    srv = std::make_unique<durable::http::server>(sys, opts);
    BOOST_REQUIRE(!srv->bind("echo", ns));
    if (auto err = srv->start())
      BOOST_FAIL("cannot start: " << durable::message_of(err));
    BOOST_REQUIRE_NE(srv->port(), 0);
  }

  ~fixture() {
    srv.reset();
    dep.shutdown();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir, ignored);
  }

  uint16_t port() const { return srv->port(); }

  static durable::config& init(durable::config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  static durable::deployment open(caf::actor_system& sys,
                                  const std::string& dir) {
    durable::settings s;
    s.data_dir = dir;
    s.secret_hex = std::string(64, 'a');
    return must(durable::deployment::open(sys, s));
  }

  template <class T>
  static T must(caf::expected<T> x) {
    if (!x)
      throw std::runtime_error(durable::message_of(x.error()));
    return std::move(*x);
  }
};

inline std::string error_body(const std::string& text, bool retryable = false,
                              bool overloaded = false, bool remote = false) {
  auto flag = [](bool x) { return x ? "true" : "false"; };
  return "{\"error\":\"" + text + "\",\"retryable\":" + flag(retryable) +
         ",\"overloaded\":" + flag(overloaded) + ",\"remote\":" + flag(remote) +
         "}";
}

/// Waits (bounded) until `pred` holds; returns whether it does.
template <class Predicate>
bool eventually(Predicate pred,
                std::chrono::milliseconds limit = std::chrono::seconds{10}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

} // namespace durable::test
