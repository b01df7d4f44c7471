// The counter server as a real process under HTTP load: SIGTERM stops it in
// bounded time, whatever its clients are doing, and every increment it
// answered is durable (a restarted server counts on from at least there).

#define BOOST_TEST_MODULE http_process
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "http_client.hpp"
#include "process.hpp"

#ifndef COUNTER_SERVER_BINARY
#error "COUNTER_SERVER_BINARY must name the counter_server example"
#endif

using namespace std::chrono_literals;

using namespace durable::test;

namespace {

/// A running counter_server: started with its data directory, port read
/// from its "listening on" line.
class server_process {
public:
  explicit server_process(const std::string& data_dir) {
    FILE* f = nullptr;
    pid_ = ::test::spawn_piped({COUNTER_SERVER_BINARY,
                                "--durable.data-dir=" + data_dir,
                                "--http.port=0", "--http.shutdown-timeout=2s"},
                               f);
    BOOST_REQUIRE_GE(pid_, 0);
    char line[256] = {};
    BOOST_REQUIRE(std::fgets(line, sizeof(line), f) != nullptr);
    std::fclose(f);
    std::string text = line;
    auto colon = text.rfind(':');
    BOOST_REQUIRE_MESSAGE(text.rfind("listening on ", 0) == 0 &&
                              colon != std::string::npos,
                          "unexpected first line: " << text);
    port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
  }

  ~server_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  uint16_t port() const { return port_; }

  void signal(int sig) { ::kill(pid_, sig); }

  /// Waits up to `limit` for the process to end; returns its wait status,
  /// or -1 if it still runs.
  int wait_exit(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }

private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

int64_t value_of(uint16_t port, const std::string& name) {
  client c{port};
  auto r = c.request("GET", "/counter/" + name);
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->result_int(), 200);
  return std::stoll(r->body());
}

} // namespace

BOOST_AUTO_TEST_CASE(sigterm_under_load_stops_in_bounded_time_losing_nothing) {
  auto dir = "/tmp/durable-http-process-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  constexpr int rounds = 3;
  constexpr int counters = 4;
  std::vector<int64_t> acked(counters, 0);
  for (int round = 0; round < rounds; ++round) {
    server_process srv{dir};
    std::atomic<bool> stop{false};
    std::mutex mtx;
    std::vector<std::set<int64_t>> seen(counters);
    std::vector<std::thread> load;
    // Closed-loop incrementers.
    for (int i = 0; i < 8; ++i)
      load.emplace_back([&, i] {
        auto name = "c" + std::to_string(i % counters);
        try {
          client c{srv.port()};
          while (!stop) {
            auto r = c.request("GET", "/counter/" + name + "/inc");
            if (!r || r->result_int() != 200)
              return; // The server is going away.
            std::lock_guard<std::mutex> guard{mtx};
            seen[i % counters].insert(std::stoll(r->body()));
          }
        } catch (const std::exception&) {
          // Refused once the listener closed.
        }
      });
    // Clients that create objects as fast as they can (a fresh name each
    // time), pipelining without waiting.
    for (int i = 0; i < 2; ++i)
      load.emplace_back([&, i, round] {
        try {
          client c{srv.port()};
          for (int n = 0; !stop && n < 100; ++n) {
            std::string batch;
            for (int k = 0; k < 100; ++k)
              batch += client::format(
                  "GET", "/counter/fresh-" + std::to_string(round) + "-" +
                             std::to_string(i) + "-" +
                             std::to_string(n * 100 + k) + "/inc");
            if (c.stream(batch, batch.size(), 500ms) != batch.size())
              return;
          }
        } catch (const std::exception&) {
          // Refused once the listener closed.
        }
      });
    // Idle connections and clients that pipeline without reading.
    std::vector<std::unique_ptr<client>> idle;
    for (int i = 0; i < 100; ++i)
      idle.push_back(std::make_unique<client>(srv.port()));
    std::vector<std::unique_ptr<client>> deaf;
    for (int i = 0; i < 4; ++i) {
      deaf.push_back(std::make_unique<client>(srv.port()));
      auto batch = client::format("GET", "/counter/deaf/inc");
      deaf.back()->stream(batch, 200 * batch.size(), 200ms);
    }
    std::this_thread::sleep_for(500ms);
    srv.signal(SIGTERM);
    // http.shutdown-timeout (2 s) plus slack; far below the watchdog.
    auto status = srv.wait_exit(10s);
    stop = true;
    for (auto& t : load)
      t.join();
    BOOST_REQUIRE_MESSAGE(status != -1, "still running 10 s after SIGTERM");
    BOOST_CHECK(WIFEXITED(status));
    BOOST_CHECK_EQUAL(WEXITSTATUS(status), 0);
    for (int k = 0; k < counters; ++k) {
      BOOST_CHECK(!seen[k].empty());
      if (!seen[k].empty()) {
        // Every answer is a new value above what earlier rounds acked.
        BOOST_CHECK_GT(*seen[k].begin(), acked[k]);
        acked[k] = *seen[k].rbegin();
      }
    }
  }
  // Every acknowledged increment survived.
  server_process srv{dir};
  for (int k = 0; k < counters; ++k)
    BOOST_CHECK_GE(value_of(srv.port(), "c" + std::to_string(k)), acked[k]);
  srv.signal(SIGTERM);
  BOOST_CHECK_NE(srv.wait_exit(10s), -1);
  std::filesystem::remove_all(dir);
}
