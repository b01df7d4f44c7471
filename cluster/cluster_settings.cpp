#include "durable/cluster_settings.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/settings.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "durable/cluster_messages.hpp"
#include "durable/errc.hpp"
#include "openssl_error_queue.hpp"

namespace durable::cluster {

namespace {

caf::error tls_error(const std::string& what, const std::string& path) {
  std::string text = what + " (" + path + ")";
  if (auto code = ERR_get_error(); code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    text += ": ";
    text += buf;
  }
  ERR_clear_error();
  return make_error(errc::invalid_argument, std::move(text));
}

/// The number of certificates in the PEM file at `path` (0 if unreadable).
size_t count_certificates(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file{std::fopen(path.c_str(), "r"),
                                             &std::fclose};
  if (!file)
    return 0;
  size_t n = 0;
  while (auto* cert = PEM_read_X509(file.get(), nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++n;
  }
  ERR_clear_error();
  return n;
}

} // namespace

caf::error check_tls_files(const tls_files& files) {
  auto require = [](const std::string& path, const char* what) -> caf::error {
    if (path.empty())
      return make_error(errc::invalid_argument,
                        std::string{"durable.cluster.tls-"} + what +
                            " is required in a cluster");
    return caf::none;
  };
  if (auto err = require(files.certificate, "certificate"))
    return err;
  if (auto err = require(files.key, "key"))
    return err;
  if (auto err = require(files.ca, "ca"))
    return err;
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_method()),
                                                   &SSL_CTX_free};
  if (!ctx)
    return make_error(errc::invalid_argument, "cannot create a TLS context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(),
                                         files.certificate.c_str()) != 1)
    return tls_error("cannot load the node certificate", files.certificate);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key.c_str(),
                                  SSL_FILETYPE_PEM) != 1)
    return tls_error("cannot load the node key", files.key);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return tls_error("the key does not match the certificate", files.key);
  if (count_certificates(files.ca) == 0)
    return tls_error("the CA file holds no certificate", files.ca);
  if (SSL_CTX_load_verify_locations(ctx.get(), files.ca.c_str(), nullptr) != 1)
    return tls_error("cannot load the CA file", files.ca);
  return caf::none;
}

void add_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "durable.cluster"}
      .add<std::string>("catalog", "cluster catalog file (JSON); unset: "
                                   "no cluster")
      .add<std::string>("node", "this node's name in the catalog")
      .add<std::string>("tls-certificate", "this node's PEM certificate")
      .add<std::string>("tls-key", "this node's PEM private key")
      .add<std::string>("tls-ca", "the cluster's PEM CA file")
      .add<caf::timespan>("heartbeat-interval", "BASP heartbeat interval")
      .add<caf::timespan>("connection-timeout",
                          "silence after which a link is dropped")
      .add<caf::timespan>("dial-timeout", "bound on one dial and hello")
      .add<std::string>("coordinator", "who places named objects: none "
                                       "(rendezvous hashing) or etcd")
      .add<std::vector<std::string>>("etcd-endpoints",
                                     "etcd client URLs (host:port)")
      .add<caf::timespan>("etcd-timeout", "bound of one etcd call")
      .add<size_t>("claim-cache", "named IDs whose owner is cached")
      .add<size_t>("claim-workers", "etcd calls in flight at once")
      .add<size_t>("max-waiting-claims",
                   "first accesses waiting for their claim, at most")
      .add<caf::timespan>("lease-ttl", "time to live of the node's lease");
}

namespace {

/// Reads `durable.cluster.<name>` into `out` if set; an error names the
/// option and its bounds when the value is outside [lo, hi].
template <class T>
caf::error bounded(const caf::actor_system_config& cfg, const char* name,
                   T& out, T lo, T hi, const std::string& bounds) {
  auto key = std::string{"durable.cluster."} + name;
  out = caf::get_or(cfg, key, out);
  if (out < lo || out > hi)
    return make_error(errc::invalid_argument, key + " must be " + bounds);
  return caf::none;
}

caf::expected<coordinator_settings>
read_coordinator(const caf::actor_system_config& cfg) {
  coordinator_settings result;
  auto kind =
      caf::get_or(cfg, "durable.cluster.coordinator", std::string{"none"});
  if (kind == "etcd")
    result.kind = coordinator_kind::etcd;
  else if (kind != "none")
    return make_error(errc::invalid_argument,
                      "durable.cluster.coordinator must be \"none\" or "
                      "\"etcd\", got \"" +
                          kind + "\"");
  result.etcd_endpoints = caf::get_or(cfg, "durable.cluster.etcd-endpoints",
                                      std::vector<std::string>{});
  if (result.kind == coordinator_kind::etcd && result.etcd_endpoints.empty())
    return make_error(errc::invalid_argument,
                      "durable.cluster.coordinator=etcd needs "
                      "durable.cluster.etcd-endpoints");
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  if (auto err = bounded(cfg, "etcd-timeout", result.etcd_timeout,
                         caf::timespan{milliseconds{100}},
                         caf::timespan{seconds{60}}, "from 100ms to 60s"))
    return err;
  if (auto err = bounded(cfg, "claim-cache", result.claim_cache, size_t{64},
                         size_t{1} << 26, "from 64 to 2^26"))
    return err;
  if (auto err = bounded(cfg, "claim-workers", result.claim_workers, size_t{1},
                         size_t{256}, "from 1 to 256"))
    return err;
  if (auto err = bounded(cfg, "max-waiting-claims", result.max_waiting_claims,
                         size_t{1}, size_t{10'000'000}, "from 1 to 10^7"))
    return err;
  caf::timespan ttl = result.lease_ttl;
  if (auto err = bounded(cfg, "lease-ttl", ttl, caf::timespan{seconds{2}},
                         caf::timespan{seconds{300}}, "from 2s to 300s"))
    return err;
  result.lease_ttl = std::chrono::duration_cast<seconds>(ttl);
  return result;
}

} // namespace

bool enabled(const caf::actor_system_config& cfg) {
  return !caf::get_or(cfg, "durable.cluster.catalog", std::string{}).empty();
}

caf::expected<cluster_settings> prepare(caf::actor_system_config& cfg) {
  cluster_settings result;
  auto path = caf::get_or(cfg, "durable.cluster.catalog", std::string{});
  if (path.empty())
    return make_error(errc::invalid_argument,
                      "durable.cluster.catalog is not set");
  auto cat = catalog::load(path);
  if (!cat)
    return std::move(cat.error());
  result.nodes = std::move(*cat);
  auto name = caf::get_or(cfg, "durable.cluster.node", std::string{});
  auto* self = result.nodes.find(std::string_view{name});
  if (!self)
    return make_error(errc::invalid_argument,
                      "durable.cluster.node \"" + name +
                          "\" names no node of the catalog " + path);
  result.self = self->number;
  result.tls.certificate =
      caf::get_or(cfg, "durable.cluster.tls-certificate", std::string{});
  result.tls.key = caf::get_or(cfg, "durable.cluster.tls-key", std::string{});
  result.tls.ca = caf::get_or(cfg, "durable.cluster.tls-ca", std::string{});
  if (auto err = check_tls_files(result.tls))
    return err;
  result.heartbeat_interval = caf::get_or(
      cfg, "durable.cluster.heartbeat-interval", result.heartbeat_interval);
  result.connection_timeout = caf::get_or(
      cfg, "durable.cluster.connection-timeout", result.connection_timeout);
  result.dial_timeout =
      caf::get_or(cfg, "durable.cluster.dial-timeout", result.dial_timeout);
  auto coord = read_coordinator(cfg);
  if (!coord)
    return std::move(coord.error());
  result.coordinator = std::move(*coord);
  if (result.heartbeat_interval <= caf::timespan{0} ||
      result.connection_timeout < 6 * result.heartbeat_interval)
    return make_error(errc::invalid_argument,
                      "durable.cluster.connection-timeout must be at least 6 "
                      "heartbeat intervals (the heartbeat runs in the one BASP "
                      "broker and lags under load)");
  // CAF's side: BASP over TLS only, heartbeats on, and one connection's
  // TLS failure must not close the others (see openssl_error_queue.cpp).
  keep_openssl_error_queue_clean();
  cfg.openssl_certificate = result.tls.certificate;
  cfg.openssl_key = result.tls.key;
  cfg.openssl_cafile = result.tls.ca;
  cfg.set("middleman.enable-automatic-connections", false);
  cfg.set("middleman.heartbeat-interval", result.heartbeat_interval);
  cfg.set("middleman.connection-timeout", result.connection_timeout);
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  add_message_types(cfg);
  // The deployment holds what the catalog says this node may hold.
  auto& entry = result.self_entry();
  cfg.set("durable.location", std::string{to_string(entry.region)});
  std::vector<std::string> names;
  for (auto j : entry.jurisdictions)
    names.emplace_back(to_string(j));
  cfg.set("durable.jurisdictions", std::move(names));
  return result;
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<hello>("durable::cluster::hello");
}

} // namespace durable::cluster
