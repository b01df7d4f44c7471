#pragma once

// Real cluster nodes for tests: certificates made by the openssl CLI, a
// catalog on free ports of 127.0.0.1, and counter_server processes, each
// with its own data directory and the same deployment secret (`node_set`).

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

#include "durable/catalog.hpp"
#include "durable/id_factory.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/secret.hpp"
#include "http_client.hpp"
#include "ports.hpp"
#include "process.hpp"
#include "test_pki.hpp"

#ifndef COUNTER_SERVER_BINARY
#error "COUNTER_SERVER_BINARY must name the counter_server example"
#endif

namespace durable::test {

/// The deployment secret of every test node (hex).
inline const std::string cluster_secret_hex =
    "7e1f0c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";

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

/// Reads the next response on `c`, waiting up to `limit` in the client's
/// 5 s steps: under sanitizers and load a node may stall for seconds (while
/// LMDB grows its map, say), and a late answer is still an answer.
inline std::optional<response> read_patiently(client& c,
                                              std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto r = c.read();
  while (!r && std::chrono::steady_clock::now() < deadline)
    r = c.read();
  return r;
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

/// The value of `target` (an increment or a read) as the node at `port`
/// answers it; -status on an HTTP error, -1 without an answer. `body` gets
/// the error's text.
inline int64_t counter_call(uint16_t port, const std::string& target,
                            std::string* body = nullptr) {
  auto r = http_get(port, target);
  if (!r)
    return -1;
  if (r->result_int() != 200) {
    if (body)
      *body = r->body();
    return -static_cast<int64_t>(r->result_int());
  }
  return std::stoll(r->body());
}

/// counter_server nodes of one catalog, each with its own data directory
/// under `dir`, serving `counter` and its eu sub-namespace `counter-eu`.
class node_set {
public:
  std::string dir;
  std::vector<node_spec> specs;
  std::string catalog_file;
  std::vector<std::unique_ptr<node_process>> nodes;

  /// Writes the catalog of `specs` plus `extra` (nodes that are never
  /// started) and starts every node of `specs` with certificates of `pki`
  /// and the options `args`; then waits until every node sees its links to
  /// the others up.
  node_set(std::string dir, std::vector<node_spec> specs, const test_pki& pki,
           std::vector<std::string> args, std::vector<node_spec> extra = {})
      : dir(std::move(dir)),
        specs(std::move(specs)),
        args_(std::move(args)),
        pki_(pki) {
    std::filesystem::create_directories(this->dir);
    catalog_file = this->dir + "/catalog.json";
    auto catalog = this->specs;
    catalog.insert(catalog.end(), extra.begin(), extra.end());
    write_catalog(catalog_file, "test", catalog);
    for (size_t i = 0; i < this->specs.size(); ++i)
      nodes.emplace_back(start(i));
    auto except = extra.empty() ? std::string{} : extra.front().name;
    for (auto& x : this->specs)
      BOOST_REQUIRE_MESSAGE(links_up(x.http, std::chrono::seconds{30}, except),
                            x.name << " never saw all links up");
  }

  /// Starts node `i` (again).
  std::unique_ptr<node_process> start(size_t i) {
    auto& x = specs[i];
    std::vector<std::string> args{
        "--durable.data-dir=" + dir + "/" + x.name,
        "--durable.cluster.catalog=" + catalog_file,
        "--durable.cluster.node=" + x.name,
        "--durable.cluster.tls-certificate=" + pki_.cert(x.name),
        "--durable.cluster.tls-key=" + pki_.key(x.name),
        "--durable.cluster.tls-ca=" + pki_.ca_file(),
        "--durable.idle-timeout=10min",
        "--http.bindings=[\"counter=counter\", \"counter-eu=counter@eu\"]",
        "--http.shutdown-timeout=2s"};
    args.insert(args.end(), args_.begin(), args_.end());
    auto p = std::make_unique<node_process>(args, cluster_secret_hex,
                                            dir + "/" + x.name + ".log");
    BOOST_REQUIRE_MESSAGE(p->ready(), x.name << " did not start; see " << dir);
    return p;
  }

  uint16_t http(size_t i) const { return specs[i].http; }

  /// Objects live on node `i` now.
  uint64_t live_objects(size_t i) const {
    auto view = cluster_view(http(i));
    BOOST_REQUIRE(view.is_object());
    return view["live_objects"].get<uint64_t>();
  }

  /// The IDs of the `counter` namespace, as every node makes them.
  durable::id_factory counter_ids() const {
    auto secret = durable::deployment_secret::from_hex(cluster_secret_hex);
    BOOST_REQUIRE(secret);
    return durable::id_factory{
        *secret, durable::namespace_registry::derived_id("counter")};
  }

  /// The catalog as the nodes read it.
  durable::cluster::catalog catalog() const {
    auto cat = durable::cluster::catalog::load(catalog_file);
    BOOST_REQUIRE(cat);
    return std::move(*cat);
  }

private:
  std::vector<std::string> args_;
  const test_pki& pki_;
};

} // namespace durable::test
