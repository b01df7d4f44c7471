#include "metrics.hpp"

#include <string>

#include "connection.hpp"
#include "routing.hpp"

namespace durable::http {

namespace {

void write_server_metrics(metrics_text& out, const server_state& st) {
  out.family("durable_http_requests_total", metric_type::counter,
             "HTTP responses sent by the front door, by status code.");
  for (unsigned i = 0; i < st.http.responses.size(); ++i)
    if (auto n = st.http.responses[i].load(std::memory_order_relaxed))
      out.sample("durable_http_requests_total",
                 {{"code", std::to_string(i + 100)}}, n);
  out.family("durable_http_connections", metric_type::gauge,
             "Open client connections of the front door.");
  out.sample("durable_http_connections", {},
             static_cast<uint64_t>(st.connections.load()));
  out.family("durable_http_requests_in_flight", metric_type::gauge,
             "Requests sent to objects whose answer a client awaits.");
  out.sample("durable_http_requests_in_flight", {},
             static_cast<uint64_t>(st.in_flight.load()));
  out.family("durable_http_websocket_connections", metric_type::gauge,
             "Open WebSocket connections.");
  out.sample("durable_http_websocket_connections", {},
             static_cast<uint64_t>(st.websockets.load()));
}

} // namespace

bool is_metrics_target(std::string_view target) {
  constexpr std::string_view path = "/metrics";
  if (target.compare(0, path.size(), path) != 0)
    return false;
  return target.size() == path.size() || target[path.size()] == '?';
}

fetch_response metrics_response(const server_state& st,
                                std::string_view method) {
  if (method != "GET" && method != "HEAD") {
    auto resp = error_response(405, "method not allowed on /metrics: use GET");
    resp.headers.emplace_back("allow", "GET, HEAD");
    return resp;
  }
  metrics_text out;
  if (st.metrics)
    st.metrics(out);
  write_server_metrics(out, st);
  return make_response(200, std::string{metrics_text::content_type},
                       out.release());
}

} // namespace durable::http
