#pragma once

// The two-node cluster of cluster_request: a scratch PKI made with the
// openssl CLI, a catalog on free ports of 127.0.0.1, the second node as a
// child process of the benchmark, and one node's actor system, deployment
// and cluster node.

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "../test/test_pki.hpp"
#include "durable/cluster_node.hpp"
#include "durable/cluster_settings.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/errc.hpp"
#include "load.hpp"

namespace bench::cluster {

/// Throws `what` with `err`'s message.
inline void check(const caf::error& err, const std::string& what) {
  if (err)
    throw std::runtime_error(what + ": " + durable::message_of(err));
}

/// The value of `x`, or throws with `what`.
template <class T>
T value_of(caf::expected<T> x, const std::string& what) {
  if (!x)
    check(x.error(), what);
  return std::move(*x);
}

/// A port that was free a moment ago on 127.0.0.1.
inline uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bool ok = fd >= 0 &&
            ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    throw std::runtime_error("no free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

/// Makes `<dir>/ca.pem` and, signed by it, `<dir>/<name>.pem` and `.key`
/// for each of `names`.
inline void make_pki(const std::string& dir,
                     const std::vector<std::string>& names) {
  durable::test::test_pki pki{dir, "ca"};
  for (auto& name : names)
    pki.issue(name);
}

/// One node of the catalog: name, number and region.
struct node_spec {
  std::string name;
  uint16_t number;
  std::string region;
};

/// Writes the catalog of cluster "bench" to `path`: each node on
/// 127.0.0.1 with free BASP and HTTP ports, holding every jurisdiction.
inline void write_catalog(const std::string& path,
                          const std::vector<node_spec>& specs) {
  auto nodes = nlohmann::json::array();
  for (auto& x : specs)
    nodes.push_back({{"name", x.name},
                     {"number", x.number},
                     {"basp", "127.0.0.1:" + std::to_string(unused_port())},
                     {"http", "127.0.0.1:" + std::to_string(unused_port())},
                     {"region", x.region}});
  std::ofstream{path} << nlohmann::json{{"cluster", "bench"}, {"nodes", nodes}};
}

/// 32 random bytes as 64 hex digits: a deployment secret.
inline std::string random_secret_hex() {
  std::random_device rd;
  std::string result;
  char buf[3];
  for (int i = 0; i < 32; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", rd() & 0xff);
    result += buf;
  }
  return result;
}

/// This program run again as another node: `/proc/self/exe` with `args`.
/// It dies with this process (PR_SET_PDEATHSIG) and reads its stdin until
/// we close it; destruction closes it, waits a moment, then kills it.
class child_node {
public:
  explicit child_node(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0)
      throw std::runtime_error("pipe failed");
    auto parent = ::getpid();
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent)
        ::_exit(1);
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      for (int fd : {in[0], in[1], out[0], out[1]})
        ::close(fd);
      std::vector<char*> argv{const_cast<char*>("cluster_request")};
      for (auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }

  child_node(const child_node&) = delete;
  child_node& operator=(const child_node&) = delete;

  ~child_node() {
    ::close(stdin_);
    ::close(stdout_);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  pid_t pid() const noexcept { return pid_; }

  /// Waits up to `limit` for the line "ready" on the child's stdout.
  bool wait_ready(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string seen;
    char c;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{stdout_, POLLIN, 0};
      if (left.count() <= 0 ||
          ::poll(&p, 1, static_cast<int>(left.count())) <= 0 ||
          ::read(stdout_, &c, 1) != 1)
        return false;
      if (c != '\n')
        seen += c;
      else if (seen == "ready")
        return true;
      else
        seen.clear();
    }
  }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

/// caf-durable's config with the `durable.cluster.*` options.
class cluster_config : public durable::config {
public:
  cluster_config() { durable::cluster::add_options(custom_options_); }
};

/// One node of the cluster in scratch directory `dir` (with `catalog.json`
/// and the PKI in `pki/`): data in `<dir>/<name>`, the secret from
/// `DURABLE_SECRET`, two CAF worker threads; etcd at `etcd` as coordinator
/// if not empty. Bind, then `start`.
struct node_runtime {
  cluster_config cfg;
  durable::cluster::cluster_settings cluster;
  caf::actor_system sys;
  std::optional<durable::deployment> dep;
  std::shared_ptr<durable::cluster::node> node;

  node_runtime(const std::string& dir, const std::string& name,
               std::vector<std::string> etcd = {})
      : sys(prepare(cfg, cluster, dir, name, std::move(etcd))) {
    auto s = value_of(durable::settings::from_config(cfg), "settings");
    s.data_dir = dir + "/" + name;
    dep.emplace(value_of(durable::deployment::open(sys, s), "deployment"));
    node =
        value_of(durable::cluster::node::attach(sys, *dep, cluster), "attach");
  }

  ~node_runtime() {
    node->stop();
    dep->shutdown();
  }

  static cluster_config& prepare(cluster_config& cfg,
                                 durable::cluster::cluster_settings& out,
                                 const std::string& dir,
                                 const std::string& name,
                                 std::vector<std::string> etcd) {
    auto pki = dir + "/pki/";
    cfg.set("scheduler.max-threads", 2);
    // `set` finds no option whose category has a dot (durable.cluster): put
    // the values as the command line parser would.
    auto put = [&](const char* key, std::string value) {
      caf::put(cfg.content, std::string{"durable.cluster."} + key,
               std::move(value));
    };
    put("catalog", dir + "/catalog.json");
    put("node", name);
    put("tls-certificate", pki + name + ".pem");
    put("tls-key", pki + name + ".key");
    put("tls-ca", pki + "ca.pem");
    if (!etcd.empty()) {
      put("coordinator", "etcd");
      caf::put(cfg.content, "durable.cluster.etcd-endpoints", std::move(etcd));
    }
    out = value_of(durable::cluster::prepare(cfg), "cluster settings");
    return cfg;
  }

  template <class T>
  auto bind(const std::string& name) {
    return value_of(dep->bind<T>(name), "bind " + name);
  }

  /// Starts the node (peers with higher numbers are dialed).
  void start() { check(node->start(), "start"); }

  /// Waits up to `limit` for every link to be up.
  void wait_links(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      bool up = true;
      for (auto& link : node->links())
        up = up && link.up;
      if (up)
        return;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the links did not come up");
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }
};

// -- plain counters in another process ----------------------------------------

using plain_atom = caf::atom_constant<caf::atom("plain")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using fwd_atom = caf::atom_constant<caf::atom("bfwd")>;
using back_atom = caf::atom_constant<caf::atom("bback")>;

/// Spawns plain actors in its node's process and answers their handles:
/// `n` plain counters, or B's half of a relay over `n` of them.
using directory_api = caf::typed_actor<
    caf::replies_to<plain_atom, uint32_t>::with<std::vector<caf::actor>>,
    caf::replies_to<relay_atom, uint32_t>::with<caf::actor>>;

// The relay floor: the cluster's path (one relay actor per node, a request
// number across the link, a response handler at the owner) built from plain
// CAF actors, with the smallest messages: what the design costs before any
// check, lookup or generic message of the real routers.

/// B's half: increments its plain counter `ref % n` and sends the value back
/// to the sender with `ref`. The counters die with it.
inline caf::behavior relay_b(caf::event_based_actor* self, uint32_t n) {
  auto targets = std::make_shared<std::vector<counter_api>>();
  for (uint32_t i = 0; i < n; ++i)
    targets->push_back(self->spawn<caf::linked>(plain_counter));
  return {[=](fwd_atom, uint64_t ref) {
    auto back = caf::actor_cast<caf::actor>(self->current_sender());
    self->request((*targets)[ref % targets->size()], caf::infinite,
                  inc_atom::value)
        .then([=](int64_t v) { self->send(back, back_atom::value, ref, v); });
  }};
}

/// A's half: takes `inc` requests (a `counter_api` by cast), keeps their
/// promises by request number and relays them to `b`.
inline caf::behavior relay_a(caf::event_based_actor* self, caf::actor b) {
  auto pending =
      std::make_shared<std::unordered_map<uint64_t, caf::response_promise>>();
  auto next = std::make_shared<uint64_t>(0);
  return {
      [=](inc_atom) {
        auto rp = self->make_response_promise();
        auto ref = (*next)++;
        pending->emplace(ref, rp);
        self->send(b, fwd_atom::value, ref);
        return rp;
      },
      [=](back_atom, uint64_t ref, int64_t v) {
        if (auto i = pending->find(ref); i != pending->end()) {
          i->second.deliver(v);
          pending->erase(i);
        }
      },
  };
}

/// Ends `hdl` on destruction.
struct exit_guard {
  caf::actor hdl;

  ~exit_guard() { caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown); }
};

/// The plain counters spawned in this process, alive until `release_plain`.
struct plain_registry {
  std::mutex mtx;
  std::vector<caf::actor> actors;

  static plain_registry& get() {
    static plain_registry x;
    return x;
  }
};

/// Ends the plain counters of this process.
inline void release_plain() {
  auto& reg = plain_registry::get();
  std::lock_guard<std::mutex> guard{reg.mtx};
  for (auto& a : reg.actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  reg.actors.clear();
}

/// An object that hands out plain counters of its node's process: the
/// actor handles cross BASP, so another node reaches them over its link.
class plain_directory : public durable::object<directory_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](plain_atom, uint32_t n) {
          std::vector<caf::actor> xs;
          for (uint32_t i = 0; i < std::min(n, 4096u); ++i)
            xs.push_back(keep(
                caf::actor_cast<caf::actor>(system().spawn(plain_counter))));
          return xs;
        },
        [this](relay_atom, uint32_t n) {
          return keep(system().spawn(relay_b, std::min(n, 4096u)));
        },
    };
  }

private:
  static caf::actor keep(caf::actor x) {
    auto& reg = plain_registry::get();
    std::lock_guard<std::mutex> guard{reg.mtx};
    reg.actors.push_back(x);
    return x;
  }
};

/// The namespaces both nodes bind (the hello compares their keys).
struct namespaces {
  durable::object_namespace<counter_api> memory;
  durable::object_namespace<counter_api> stored;
  durable::object_namespace<directory_api> directory;

  explicit namespaces(node_runtime& n)
      : memory(n.bind<memory_counter>("bench-counter")),
        stored(n.bind<stored_counter>("bench-stored")),
        directory(n.bind<plain_directory>("bench-dir")) {
    // nop
  }
};

/// The `main` of a benchmark that runs as node A and again as node B
/// (`--role b`): calls `a(opts)` or `b(opts)`, and prints what one of them
/// threw as "<name>[ (node B)]: <what>", returning 1.
template <class A, class B>
int two_node_main(int argc, char** argv, const char* name, A a, B b) {
  auto opts = bench::options::parse(argc, argv);
  auto role = opts.extra["role"];
  try {
    if (role == "b")
      return b(opts);
    if (!role.empty() && role != "a")
      throw std::runtime_error("--role is a or b");
    return a(opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s: %s\n", name, role == "b" ? " (node B)" : "",
                 e.what());
    return 1;
  }
}

} // namespace bench::cluster
