#include "gateway.hpp"

#include <algorithm>
#include <thread>

#include <boost/asio/ip/address.hpp>

#include "durable/errc.hpp"

namespace durable::etcd {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using tcp = boost::asio::ip::tcp;

/// gRPC codes after which another member (or a later try) may succeed: no
/// leader, leader changed, request timed out, too many requests.
bool retryable_code(int code) {
  switch (code) {
  case 1:  // CANCELLED
  case 4:  // DEADLINE_EXCEEDED
  case 8:  // RESOURCE_EXHAUSTED
  case 10: // ABORTED
  case 14: // UNAVAILABLE
    return true;
  default:
    return false;
  }
}

/// Splits "http://host:port", "host:port" or "[v6]:port"; nothing if it is
/// none of these.
caf::expected<std::pair<std::string, std::string>>
split_endpoint(std::string text) {
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument,
                      "etcd endpoint '" + text + "': " + why);
  };
  std::string rest = text;
  if (rest.rfind("https://", 0) == 0)
    return bad("TLS endpoints are not supported yet");
  if (rest.rfind("http://", 0) == 0)
    rest.erase(0, 7);
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    return bad("expected host:port");
  auto host = rest.substr(0, colon);
  auto port = rest.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']')
      return bad("malformed IPv6 address");
    host = host.substr(1, host.size() - 2);
  }
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) == 0 || std::stoul(port) > 65535)
    return bad("port out of range");
  return std::make_pair(std::move(host), std::move(port));
}

} // namespace

gateway::gateway(client_options opts) : opts_(std::move(opts)) {
  // Nothing else.
}

caf::expected<std::unique_ptr<gateway>> gateway::make(client_options opts) {
  if (opts.endpoints.empty())
    return make_error(errc::invalid_argument, "etcd: no endpoint given");
  if (opts.timeout <= 0ms || opts.attempt_timeout <= 0ms)
    return make_error(errc::invalid_argument,
                      "etcd: timeouts must be positive");
  std::unique_ptr<gateway> result{new gateway(opts)};
  boost::asio::io_context ioc;
  tcp::resolver resolver{ioc};
  for (auto& text : opts.endpoints) {
    auto parts = split_endpoint(text);
    if (!parts)
      return std::move(parts.error());
    auto& [host, port] = *parts;
    auto ep = std::make_unique<endpoint>();
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(host, ec);
    if (!ec) {
      ep->address =
          tcp::endpoint{addr, static_cast<uint16_t>(std::stoul(port))};
    } else {
      auto found = resolver.resolve(host, port, ec);
      if (ec || found.empty())
        return make_error(errc::invalid_argument,
                          "etcd endpoint '" + text +
                              "': cannot resolve: " + ec.message());
      ep->address = found.begin()->endpoint();
    }
    ep->host = host + ":" + port;
    result->endpoints_.push_back(std::move(ep));
  }
  return result;
}

std::unique_ptr<connection> gateway::acquire(endpoint& ep) {
  {
    std::lock_guard<std::mutex> guard{ep.mtx};
    if (!ep.idle.empty()) {
      auto conn = std::move(ep.idle.back());
      ep.idle.pop_back();
      return conn;
    }
  }
  return std::make_unique<connection>(ep.address, ep.host);
}

void gateway::release(endpoint& ep, std::unique_ptr<connection> conn) {
  std::lock_guard<std::mutex> guard{ep.mtx};
  if (ep.idle.size() < opts_.max_idle_connections)
    ep.idle.push_back(std::move(conn));
}

gateway::outcome gateway::attempt(endpoint& ep, const char* path,
                                  const std::string& body,
                                  connection::time_point deadline,
                                  gateway_answer& answer, std::string& why) {
  std::optional<http_answer> res;
  for (;;) {
    auto conn = acquire(ep);
    auto reused = conn->reused();
    std::string err;
    res = conn->post(path, body, deadline, err);
    if (res) {
      if (conn->usable())
        release(ep, std::move(conn));
      break;
    }
    why = ep.host + ": " + err;
    // A pooled connection may have been closed by the member while idle:
    // that says nothing about the member, so try a fresh one.
    if (!reused || clock_type::now() >= deadline)
      return outcome::failed;
  }
  auto json = nlohmann::json::parse(res->body, nullptr, false);
  if (!json.is_object()) {
    why = ep.host + ": HTTP " + std::to_string(res->status) +
          " without a JSON object";
    return outcome::failed;
  }
  answer = gateway_answer{};
  auto str = [](const nlohmann::json& obj, const char* name) {
    auto i = obj.find(name);
    return i != obj.end() && i->is_string() ? i->get<std::string>()
                                            : std::string{"unknown error"};
  };
  auto code = [](const nlohmann::json& obj, const char* name) {
    auto i = obj.find(name);
    return i != obj.end() && i->is_number_integer() ? i->get<int>() : -1;
  };
  auto has_header = [](const nlohmann::json& obj) {
    auto i = obj.find("header");
    return i != obj.end() && i->is_object();
  };
  if (res->status == 200 && json.contains("error")) {
    // The streaming endpoints (lease keep-alive) report errors in the body.
    auto& err = json["error"];
    answer.code = err.is_object() ? code(err, "grpc_code") : -1;
    answer.message = err.is_object() ? str(err, "message") : "";
  } else if (res->status != 200) {
    answer.code = code(json, "code");
    answer.message = str(json, "message");
  } else if (!has_header(json) &&
             !(json.contains("result") && json["result"].is_object() &&
               has_header(json["result"]))) {
    // Every etcd answer has a header: this is not etcd.
    answer.code = -1;
  }
  if (answer.code < 0 || (answer.code == 0 && res->status != 200)) {
    why = ep.host + ": HTTP " + std::to_string(res->status) +
          " with a body that is not an etcd answer";
    return outcome::failed;
  }
  if (answer.code != 0 && retryable_code(answer.code)) {
    why = ep.host + ": etcd: " + answer.message;
    return outcome::failed;
  }
  answer.body = std::move(json);
  return outcome::answered;
}

caf::expected<gateway_answer> gateway::call(const char* path,
                                            const nlohmann::json& request) {
  auto body = request.dump();
  auto deadline = clock_type::now() + opts_.timeout;
  auto n = endpoints_.size();
  auto start = preferred_.load(std::memory_order_relaxed);
  std::string last = "no attempt";
  for (size_t round = 0;; ++round) {
    for (size_t k = 0; k < n; ++k) {
      auto now = clock_type::now();
      if (now >= deadline)
        return make_error(errc::unavailable,
                          "etcd: no endpoint answered within " +
                              std::to_string(opts_.timeout.count()) +
                              " ms (last: " + last + ")");
      auto i = (start + k) % n;
      gateway_answer answer;
      if (attempt(*endpoints_[i], path, body,
                  std::min(deadline, now + opts_.attempt_timeout), answer,
                  last) == outcome::answered) {
        preferred_.store(i, std::memory_order_relaxed);
        return answer;
      }
    }
    // Every member failed: an election may be under way; pause briefly.
    auto left = deadline - clock_type::now();
    auto pause = std::min<clock_type::duration>(25ms * (round + 1), 250ms);
    if (left > 0ms)
      std::this_thread::sleep_for(std::min(pause, left));
  }
}

} // namespace durable::etcd
