#pragma once

// The transport under `etcd::client`: a pool of keep-alive connections per
// endpoint and one call = POST a JSON request to one member after another
// until one answers or the call's deadline passes.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "connection.hpp"
#include "durable/etcd_client.hpp"

namespace durable::etcd {

/// A gRPC status code that the gateway sent with a failed request (0: OK).
/// Only codes that retrying elsewhere cannot fix reach the caller.
struct gateway_answer {
  int code = 0;
  std::string message;
  nlohmann::json body;
};

class gateway {
public:
  /// Resolves the endpoints of `opts`.
  static caf::expected<std::unique_ptr<gateway>> make(client_options opts);

  /// POSTs `request` to `path` (e.g. "/v3/kv/range"). Fails with
  /// `errc::unavailable` when no endpoint answered before the deadline.
  caf::expected<gateway_answer> call(const char* path,
                                     const nlohmann::json& request);

  const client_options& options() const noexcept { return opts_; }

private:
  struct endpoint {
    boost::asio::ip::tcp::endpoint address;
    std::string host; // The Host header: "host:port".
    std::mutex mtx;
    std::vector<std::unique_ptr<connection>> idle;
  };

  /// How one attempt at one endpoint ended.
  enum class outcome { answered, failed };

  explicit gateway(client_options opts);

  outcome attempt(endpoint& ep, const char* path, const std::string& body,
                  connection::time_point deadline, gateway_answer& answer,
                  std::string& why);

  std::unique_ptr<connection> acquire(endpoint& ep);

  void release(endpoint& ep, std::unique_ptr<connection> conn);

  client_options opts_;
  std::vector<std::unique_ptr<endpoint>> endpoints_;
  /// The member that answered last: tried first.
  std::atomic<size_t> preferred_{0};
};

} // namespace durable::etcd
