// Uses the installed caf-durable: binds a namespace, calls an object through
// a stub and over HTTP (caf_durable::http), and adds the cluster's options
// (caf_durable::cluster).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <caf/all.hpp>

#include "durable/cluster_settings.hpp"
#include "durable/config.hpp"
#include "durable/deployment.hpp"
#include "durable/fetch.hpp"
#include "durable/http_server.hpp"
#include "durable/object.hpp"

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using ping_api = caf::typed_actor<caf::replies_to<ping_atom>::with<int>,
                                  durable::fetch_signature>;

class pinger : public durable::object<ping_api> {
public:
  using object::object;
  behavior_type make_behavior() override {
    return {
        [this](ping_atom) { return ++pings_; },
        [this](const durable::fetch_request&) {
          return durable::make_text_response(200, std::to_string(++pings_));
        },
    };
  }

private:
  int pings_ = 0;
};

/// A config with the cluster's options, as a clustered program has.
class consumer_config : public durable::config {
public:
  consumer_config() { durable::cluster::add_options(custom_options_); }

  bool has_cluster_options() const {
    return custom_options_.qualified_name_lookup("durable.cluster", "node") !=
           nullptr;
  }
};

/// The body of `GET <path>` from 127.0.0.1:`port` (read to EOF).
std::string http_get(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    auto request = "GET " + path +
                   " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (::write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0)
        response.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (response.compare(0, 12, "HTTP/1.1 200") != 0 || body == std::string::npos)
    return "error: " + response;
  return response.substr(body + 4);
}

int main(int argc, char** argv) {
  consumer_config cfg;
  if (argc > 1)
    cfg.set("durable.data-dir", argv[1]);
  if (!cfg.has_cluster_options())
    return EXIT_FAILURE;
  caf::actor_system sys{cfg};
  auto dep = durable::deployment::open(sys);
  if (!dep)
    return EXIT_FAILURE;
  auto ns = dep->bind<pinger>("pinger");
  if (!ns)
    return EXIT_FAILURE;
  auto stub = ns->get_by_name("x");
  auto a = stub.call(std::chrono::seconds{5}, ping_atom::value);
  auto b = stub.call(std::chrono::seconds{5}, ping_atom::value);
  if (!a || !b || *a != 1 || *b != 2)
    return EXIT_FAILURE;
  durable::http::server web{sys};
  if (web.bind("pinger", *ns) || web.start())
    return EXIT_FAILURE;
  auto body = http_get(web.port(), "/pinger/x");
  web.stop();
  if (body != "3") {
    std::printf("consumer: GET /pinger/x answered %s\n", body.c_str());
    return EXIT_FAILURE;
  }
  std::printf("consumer ok: %s\n", stub.id().to_string().c_str());
  return EXIT_SUCCESS;
}
