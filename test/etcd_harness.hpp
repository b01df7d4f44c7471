#pragma once

// Real etcd members for tests, started from the Debian binary: one or three
// members on free ports of 127.0.0.1, each with a temporary data directory.
// Members can be killed (-9), frozen (SIGSTOP), thawed and restarted on
// their data; the leader can be found and killed. Every member dies with the
// thread that made the harness (PR_SET_PDEATHSIG), so a crashed test leaves
// no etcd behind.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_client.hpp"
#include "ports.hpp"
#include "process.hpp"

namespace durable::test {

class etcd_cluster {
public:
  static constexpr const char* binary = "/usr/bin/etcd";

  struct member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::string data_dir;
    std::string log;
    pid_t pid = -1;
    bool frozen = false;
  };

  /// Starts `n` members as one new cluster and waits until all are healthy.
  explicit etcd_cluster(size_t n) {
    BOOST_REQUIRE_MESSAGE(::access(binary, X_OK) == 0,
                          binary << " missing: run `make deps` (etcd-server)");
    char tmpl[] = "/tmp/etcd-test-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    for (size_t i = 0; i < n; ++i) {
      member m;
      m.name = "m" + std::to_string(i);
      m.client_port = free_port();
      m.peer_port = free_port();
      m.data_dir = root_ + "/" + m.name;
      m.log = root_ + "/" + m.name + ".log";
      members_.push_back(m);
    }
    for (auto& m : members_)
      initial_cluster_ += (initial_cluster_.empty() ? "" : ",") + m.name +
                          "=http://127.0.0.1:" + std::to_string(m.peer_port);
    for (size_t i = 0; i < n; ++i)
      start(i);
    for (size_t i = 0; i < n; ++i)
      BOOST_REQUIRE_MESSAGE(healthy(i, std::chrono::seconds{30}),
                            members_[i].name << " not healthy: " << log(i));
  }

  ~etcd_cluster() {
    for (size_t i = 0; i < members_.size(); ++i)
      kill(i);
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  size_t size() const { return members_.size(); }

  /// The client endpoint of member `i`: "127.0.0.1:<port>".
  std::string endpoint(size_t i) const {
    return "127.0.0.1:" + std::to_string(members_[i].client_port);
  }

  std::vector<std::string> endpoints() const {
    std::vector<std::string> result;
    for (size_t i = 0; i < members_.size(); ++i)
      result.push_back(endpoint(i));
    return result;
  }

  bool running(size_t i) const { return members_[i].pid > 0; }

  /// Starts member `i` (again, on its data directory if it has one).
  void start(size_t i) {
    auto& m = members_[i];
    BOOST_REQUIRE(m.pid < 0);
    auto client_url = "http://127.0.0.1:" + std::to_string(m.client_port);
    auto peer_url = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> argv{binary,
                                  "--name=" + m.name,
                                  "--data-dir=" + m.data_dir,
                                  "--listen-client-urls=" + client_url,
                                  "--advertise-client-urls=" + client_url,
                                  "--listen-peer-urls=" + peer_url,
                                  "--initial-advertise-peer-urls=" + peer_url,
                                  "--initial-cluster=" + initial_cluster_,
                                  "--initial-cluster-token=" + root_,
                                  "--initial-cluster-state=new",
                                  "--logger=zap",
                                  "--log-outputs=stderr",
                                  "--log-level=warn"};
    auto args = ::test::c_args(argv);
    auto parent = ::getpid();
    auto pid = ::fork();
    if (pid == 0) {
      // Dies with the test, even if the test dies by SIGKILL.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(127);
      int fd = ::open(m.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0)
        ::_exit(127);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    BOOST_REQUIRE(pid > 0);
    m.pid = pid;
    m.frozen = false;
  }

  /// kill -9 of member `i` (no-op if it is not running); reaps it.
  void kill(size_t i) {
    auto& m = members_[i];
    if (m.pid < 0)
      return;
    ::kill(m.pid, SIGKILL);
    ::waitpid(m.pid, nullptr, 0);
    m.pid = -1;
    m.frozen = false;
  }

  /// SIGSTOP: the member keeps its sockets but answers nothing.
  void freeze(size_t i) {
    BOOST_REQUIRE(running(i));
    ::kill(members_[i].pid, SIGSTOP);
    members_[i].frozen = true;
  }

  void thaw(size_t i) {
    BOOST_REQUIRE(running(i));
    ::kill(members_[i].pid, SIGCONT);
    members_[i].frozen = false;
  }

  /// Polls member `i`'s /health until it reports a leader, or `limit`.
  bool healthy(size_t i, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    do {
      if (auto res = ask(i, "GET", "/health", "");
          res && res->result_int() == 200 &&
          res->body().find("\"true\"") != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    } while (std::chrono::steady_clock::now() < until);
    return false;
  }

  /// The index of the member that the running members call their leader.
  std::optional<size_t> leader() {
    std::vector<std::string> ids(members_.size());
    std::string leader_id;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!running(i) || members_[i].frozen)
        continue;
      auto res = ask(i, "POST", "/v3/maintenance/status", "{}");
      if (!res || res->result_int() != 200)
        continue;
      auto json = nlohmann::json::parse(res->body(), nullptr, false);
      if (!json.is_object() || !json.contains("header"))
        continue;
      ids[i] = json["header"].value("member_id", std::string{});
      if (auto l = json.value("leader", std::string{}); !l.empty())
        leader_id = l;
    }
    for (size_t i = 0; i < members_.size(); ++i)
      if (!leader_id.empty() && ids[i] == leader_id)
        return i;
    return std::nullopt;
  }

  /// Waits (up to 30 s) until there is a leader and returns its index.
  size_t await_leader() {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (std::chrono::steady_clock::now() < until) {
      if (auto l = leader())
        return *l;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    BOOST_FAIL("etcd elected no leader within 30 s");
    return 0;
  }

  /// Finds the leader and kills it (-9); returns its index.
  size_t kill_leader() {
    auto l = await_leader();
    kill(l);
    return l;
  }

  /// What member `i` logged.
  std::string log(size_t i) const { return ::test::slurp(members_[i].log); }

private:
  std::optional<response> ask(size_t i, const std::string& method,
                              const std::string& target,
                              const std::string& body) {
    if (!running(i))
      return std::nullopt;
    try {
      client c{members_[i].client_port};
      return c.request(method, target, body);
    } catch (const std::exception&) {
      return std::nullopt; // Not listening (yet).
    }
  }

  std::string root_;
  std::string initial_cluster_;
  std::vector<member> members_;
};

} // namespace durable::test
