#pragma once

// The metrics route of the front door (`GET /metrics`): the deployment's
// figures and the server's own in the Prometheus text format, rendered on
// the I/O thread from atomics (no actor is asked).

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "durable/fetch.hpp"
#include "durable/metrics_text.hpp"

namespace durable::http {

struct server_state;

/// The path the metrics are served at.
inline constexpr std::string_view metrics_segment = "metrics";

/// What the front door records about itself.
struct http_metrics {
  /// Responses sent, by status code (100..599; index: code - 100). Written
  /// with relaxed atomics by the I/O threads.
  std::array<std::atomic<uint64_t>, 500> responses{};

  /// Counts a response with status `code`.
  void count_response(unsigned code) noexcept {
    if (code >= 100 && code < 600)
      responses[code - 100].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Where the served metrics come from besides the server's own.
using metrics_source = std::function<void(metrics_text&)>;

/// Returns whether `target` ("/metrics", query allowed) is the metrics
/// route.
bool is_metrics_target(std::string_view target);

/// Answers `GET /metrics` (and HEAD; other methods get 405) with the
/// figures of `st.metrics_source` followed by the server's own.
fetch_response metrics_response(const server_state& st,
                                std::string_view method);

} // namespace durable::http
