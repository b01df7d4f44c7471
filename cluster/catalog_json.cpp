#include "catalog_json.hpp"

#include <algorithm>
#include <unordered_set>

#include "durable/errc.hpp"

namespace durable::cluster::detail {

namespace {

constexpr size_t max_name_length = 64;
constexpr size_t max_host_length = 255;
/// A catalog nests 4 levels deep at most (catalog, nodes, node,
/// jurisdictions); anything deeper is wrong, and refusing it early keeps the
/// parser's memory small.
constexpr int max_depth = 4;

/// Checks what `json::parse` cannot: duplicate keys (the library keeps the
/// last one silently) and the nesting depth. Depths as the callback sees
/// them: the catalog object starts at 0, its keys are at 1, node objects
/// start at 2 and their keys are at 3.
struct parse_guard {
  std::vector<std::unordered_set<std::string>> keys; // one per open object
  std::string top_key;   // the last key of the catalog object
  size_t node_count = 0; // node objects started so far
  std::string problem;

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (!problem.empty())
      return false;
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      if (depth >= max_depth) {
        problem = "nested deeper than " + std::to_string(max_depth) + " levels";
        return false;
      }
      if (event == json::parse_event_t::object_start) {
        keys.emplace_back();
        if (depth == 2 && top_key == "nodes")
          ++node_count;
      }
      return true;
    case json::parse_event_t::object_end:
      keys.pop_back();
      return true;
    case json::parse_event_t::key: {
      auto& key = parsed.get_ref<const std::string&>();
      if (depth == 1)
        top_key = key;
      if (!keys.back().insert(key).second) {
        problem = "field " + echo(key) + " appears twice";
        if (depth == 3 && top_key == "nodes")
          problem += " in nodes[" + std::to_string(node_count - 1) + "]";
        return false;
      }
      return true;
    }
    default:
      return true;
    }
  }
};

} // namespace

std::string echo(std::string_view x) {
  constexpr size_t max_echo = 80;
  std::string cut{x.substr(0, max_echo)};
  auto result = json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
  if (x.size() > max_echo)
    result += "...";
  return result;
}

std::string echo_json(const json& x) {
  if (x.is_string())
    return echo(x.get_ref<const std::string&>());
  constexpr size_t max_echo = 80;
  auto result = x.dump(-1, ' ', false, json::error_handler_t::replace);
  if (result.size() > max_echo)
    result = result.substr(0, max_echo) + "...";
  return result;
}

std::string parse_json(std::string_view text, json& out) {
  parse_guard guard;
  try {
    out = json::parse(
        text.begin(), text.end(),
        [&guard](int depth, json::parse_event_t event, json& parsed) {
          return guard(depth, event, parsed);
        });
  } catch (const json::exception& e) {
    // The library's text may quote a whole (long) token: cut it short.
    constexpr size_t max_what = 200;
    std::string what = e.what();
    if (what.size() > max_what)
      what = what.substr(0, max_what) + "...";
    if (auto syntax = dynamic_cast<const json::parse_error*>(&e))
      return "not JSON at byte " + std::to_string(syntax->byte) + ": " + what;
    return "cannot parse: " + what; // e.g. a number out of range
  }
  return guard.problem;
}

std::string check_name(const json& x) {
  if (!x.is_string())
    return "must be a string, got " + echo_json(x);
  auto& str = x.get_ref<const std::string&>();
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (str.empty() || str.size() > max_name_length ||
      !std::all_of(str.begin(), str.end(), allowed))
    return "must be 1 to 64 of A-Z a-z 0-9 . _ -, got " + echo(str);
  return {};
}

std::string parse_endpoint(const json& x, endpoint& out) {
  if (!x.is_string())
    return "must be a string \"host:port\", got " + echo_json(x);
  auto& str = x.get_ref<const std::string&>();
  auto colon = str.rfind(':'); // the last one: "[::1]:7101" works
  if (colon == std::string::npos)
    return "must be \"host:port\", got " + echo(str);
  auto host = str.substr(0, colon);
  auto port = str.substr(colon + 1);
  auto space = [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
  };
  if (host.empty() || host.size() > max_host_length ||
      std::any_of(host.begin(), host.end(), space))
    return "host must be 1 to 255 characters without spaces, got " + echo(str);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // 5 digits at most, so the sum cannot overflow.
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), digit))
    return "port must be a number from 1 to 65535, got " + echo(str);
  uint32_t value = 0;
  for (auto c : port)
    value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value < 1 || value > 65535)
    return "port must be a number from 1 to 65535, got " + echo(str);
  out.host = std::move(host);
  out.port = static_cast<uint16_t>(value);
  return {};
}

std::string parse_number(const json& x, uint16_t& out) {
  auto fail =
      "must be an integer from 1 to 65535 (0 is reserved), got " + echo_json(x);
  if (!x.is_number_integer())
    return fail;
  if (x.is_number_unsigned() ? x.get<uint64_t>() > 65535
                             : x.get<int64_t>() < 1 || x.get<int64_t>() > 65535)
    return fail;
  out = static_cast<uint16_t>(x.get<int64_t>());
  return out == 0 ? fail : std::string{};
}

std::string parse_jurisdictions(const json& x, std::vector<jurisdiction>& out) {
  if (!x.is_array())
    return "must be an array of jurisdiction names, got " + echo_json(x);
  out.clear();
  for (auto& name : x) {
    if (!name.is_string())
      return "must be an array of jurisdiction names, got " + echo_json(name);
    auto j = parse_jurisdiction(name.get_ref<const std::string&>());
    if (!j)
      return message_of(j.error());
    if (std::find(out.begin(), out.end(), *j) != out.end())
      return "lists " + echo(to_string(*j)) + " twice";
    out.push_back(*j);
  }
  return {};
}

} // namespace durable::cluster::detail
