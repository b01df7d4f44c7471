#include "routing.hpp"

#include <strings.h>

#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "durable/errc.hpp"
#include "durable/hex.hpp"

namespace durable::http {

namespace {

/// Cuts the next segment off `path` (which starts after a '/').
std::string_view next_segment(std::string_view& path) {
  auto end = path.find('/');
  auto result = path.substr(0, end);
  path =
      end == std::string_view::npos ? std::string_view{} : path.substr(end + 1);
  return result;
}

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size() && strncasecmp(x.data(), y.data(), x.size()) == 0;
}

/// Headers the server controls itself, or that only concern one hop.
bool hop_by_hop(std::string_view name) {
  for (auto x : {"connection", "content-length", "transfer-encoding",
                 "keep-alive", "upgrade", "te", "trailer", "proxy-connection"})
    if (iequals(name, x))
      return true;
  // The front door's own: how an object accepts a WebSocket (never sent to
  // a client) and the handshake's answer (Beast computes it).
  constexpr std::string_view internal = "x-durable-websocket";
  return (name.size() >= internal.size() &&
          iequals(name.substr(0, internal.size()), internal)) ||
         iequals(name, "sec-websocket-accept");
}

bool is_caller_error(const caf::error& err) {
  return is(err, errc::invalid_argument) || is(err, errc::invalid_id) ||
         is(err, errc::wrong_namespace) || is(err, errc::wrong_jurisdiction) ||
         is(err, errc::unsupported_jurisdiction) ||
         is(err, errc::unsupported_location_hint);
}

} // namespace

bool parse_target(std::string_view target, parsed_target& out, unsigned& status,
                  std::string& error) {
  // Only origin-form targets ("/path?query"); absolute-form is for proxies.
  if (target.empty() || target.front() != '/') {
    status = 400;
    error = "request target must be a path";
    return false;
  }
  auto path = target.substr(1, target.find('?') - 1);
  out.binding = next_segment(path);
  if (out.binding.empty()) {
    status = 404;
    error = "no binding in path: use /<binding>/<name>/...";
    return false;
  }
  status = 400;
  auto segment = next_segment(path);
  if (segment == "id") {
    // Anything but 64 hex digits, including nothing, is a bad ID: the
    // namespace gives the reference text when it parses `key`.
    out.object.by_id = true;
    out.object.key.assign(next_segment(path));
    return true;
  }
  out.object.by_id = false;
  out.object.key.clear();
  if (!percent_decode(segment, out.object.key)) {
    error = "malformed percent-encoding in object name";
    return false;
  }
  if (out.object.key.empty()) {
    error = "no object name in path: use /" + std::string{out.binding} +
            "/<name>/... or /" + std::string{out.binding} + "/id/<hex>/...";
    return false;
  }
  return true;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (in.size() - i < 3)
      return false;
    auto hi = hex_value(in[i + 1]);
    auto lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool valid_binding_name(std::string_view segment) {
  if (segment.empty() || segment.size() > 128)
    return false;
  for (auto c : segment) {
    auto ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
              c == '~';
    if (!ok)
      return false;
  }
  return segment != "." && segment != "..";
}

bool acceptable_header(std::string_view name, std::string_view value) {
  if (name.empty() || hop_by_hop(name))
    return false;
  // A name is an RFC 7230 token: a separator such as '/' or '(' would make
  // the whole response unparsable for the client (found by fuzzing).
  for (auto c : name) {
    auto ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') ||
        std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
    if (!ok)
      return false;
  }
  // A value holds no control characters but HTAB (CR and LF would inject
  // headers; the others make clients reject the response).
  for (auto c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f)
      return false;
  }
  return true;
}

namespace {

std::string dump(const nlohmann::ordered_json& x) {
  // Texts hold arbitrary bytes (names, paths): invalid UTF-8 becomes U+FFFD
  // instead of an exception.
  return x.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += dump(std::string{text});
}

fetch_response error_response(uint16_t status, std::string_view text,
                              bool retryable, bool overloaded, bool remote) {
  nlohmann::ordered_json body{{"error", std::string{text}},
                              {"retryable", retryable},
                              {"overloaded", overloaded},
                              {"remote", remote}};
  return make_response(status, "application/json", dump(body));
}

fetch_response error_response(const caf::error& err) {
  auto text = message_of(err);
  auto retryable = is_retryable(err);
  auto overloaded = is_overloaded(err);
  auto remote = is_remote(err);
  uint16_t status = 500;
  if (err == caf::sec::request_timeout)
    status = 504;
  else if (is_caller_error(err))
    status = 400;
  else if (overloaded || retryable)
    status = 503;
  return error_response(status, text, retryable, overloaded, remote);
}

} // namespace durable::http
