#pragma once

// Real cluster nodes for tests: certificates made by the openssl CLI, a
// catalog on free ports of 127.0.0.1, and counter_server processes, each
// with its own data directory and the same deployment secret.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_client.hpp"
#include "ports.hpp"
#include "process.hpp"
#include "test_pki.hpp"

#ifndef COUNTER_SERVER_BINARY
#error "COUNTER_SERVER_BINARY must name the counter_server example"
#endif

namespace durable::test {

/// Runs `cmd` in a shell; the test fails if it does.
inline void shell(const std::string& cmd) {
  auto rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  BOOST_REQUIRE_MESSAGE(rc == 0, "command failed: " << cmd);
}

/// Runs `cmd` in a shell and returns what it printed (stdout and stderr).
inline std::string shell_output(const std::string& cmd) {
  std::string out;
  if (auto* f = ::popen(("(" + cmd + ") 2>&1").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      out.append(buf, n);
    ::pclose(f);
  }
  return out;
}

/// The local ports process `pid` listens on (TCP, IPv4 and IPv6).
inline std::vector<uint16_t> listening_ports(pid_t pid) {
  std::set<std::string> inodes;
  auto fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto& entry : std::filesystem::directory_iterator(fd_dir)) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0)
      inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<uint16_t> result;
  for (auto table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in{table};
    std::string line;
    std::getline(in, line); // Header.
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string slot, local, remote, state, queues, timer, retr, uid, tmo,
          inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retr >>
          uid >> tmo >> inode;
      if (state == "0A" && inodes.count(inode) > 0)
        result.push_back(static_cast<uint16_t>(
            std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
    }
  }
  return result;
}

/// A TCP port on 127.0.0.1 that takes no connection and refuses none: its
/// accept queue is full, so the kernel drops every SYN, as a black-holed
/// host would.
class black_hole {
public:
  black_hole() {
    listener_ = listen_loopback(0, port_);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    // Fill the queue (never accepted).
    for (int i = 0; i < 2; ++i) {
      auto fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      fillers_.push_back(fd);
    }
  }

  ~black_hole() {
    for (auto fd : fillers_)
      ::close(fd);
    ::close(listener_);
  }

  uint16_t port() const { return port_; }

private:
  int listener_;
  uint16_t port_;
  std::vector<int> fillers_;
};

struct node_spec {
  std::string name;
  uint16_t number;
  std::string region;
  std::vector<std::string> jurisdictions;
  uint16_t basp = free_port();
  uint16_t http = free_port();
};

/// Writes the catalog of `nodes` for cluster `name` to `path`.
inline void write_catalog(const std::string& path, const std::string& name,
                          const std::vector<node_spec>& nodes) {
  auto list = nlohmann::json::array();
  for (auto& x : nodes)
    list.push_back({{"name", x.name},
                    {"number", x.number},
                    {"basp", "127.0.0.1:" + std::to_string(x.basp)},
                    {"http", "127.0.0.1:" + std::to_string(x.http)},
                    {"region", x.region},
                    {"jurisdictions", x.jurisdictions}});
  std::ofstream{path} << nlohmann::json{{"cluster", name}, {"nodes", list}};
}

/// One counter_server process as a cluster node.
class node_process {
public:
  /// Starts the node and waits for its "listening on" line.
  node_process(const std::vector<std::string>& args, const std::string& secret,
               const std::string& log) {
    std::vector<std::string> argv{COUNTER_SERVER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    FILE* f = nullptr;
    pid_ = ::test::spawn_piped(argv, f, log, {"DURABLE_SECRET=" + secret});
    BOOST_REQUIRE_GE(pid_, 0);
    char line[512] = {};
    while (std::fgets(line, sizeof(line), f) != nullptr)
      if (std::string{line}.rfind("listening on ", 0) == 0) {
        ready_ = true;
        break;
      }
    std::fclose(f);
  }

  ~node_process() { kill(SIGKILL); }

  bool ready() const { return ready_; }

  pid_t pid() const { return pid_; }

  void signal(int sig) {
    if (pid_ > 0)
      ::kill(pid_, sig);
  }

  /// Sends `sig` and reaps the process.
  void kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

/// GET `target` on 127.0.0.1:`port` over a fresh connection.
inline std::optional<response> http_get(uint16_t port,
                                        const std::string& target) {
  try {
    client c{port};
    c.send("GET " + target +
           " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    return c.read();
  } catch (...) {
    return std::nullopt;
  }
}

/// The `/admin/cluster` view of the node at `port`, or null.
inline nlohmann::json cluster_view(uint16_t port) {
  auto r = http_get(port, "/admin/cluster");
  if (!r || r->result_int() != 200)
    return nullptr;
  return nlohmann::json::parse(r->body(), nullptr, false);
}

/// Waits until the node at `port` sees every link up but the one to
/// `except` (or `limit` passes).
inline bool links_up(uint16_t port, std::chrono::seconds limit,
                     const std::string& except = {}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto view = cluster_view(port);
    if (view.is_object()) {
      bool all = true;
      for (auto& link : view["links"])
        all = all && (link["state"] == "up" || link["node"] == except);
      if (all)
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

} // namespace durable::test
