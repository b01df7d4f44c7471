#include "catalog_json.hpp"

#include <algorithm>

#include "durable/errc.hpp"

namespace durable::cluster::detail {

namespace {

constexpr size_t max_name_length = 64;
constexpr size_t max_host_length = 255;

} // namespace

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
      "must be an integer from 1 to 65534 (0 and 65535 are reserved), got " +
      echo_json(x);
  if (!x.is_number_integer())
    return fail;
  if (x.is_number_unsigned() ? x.get<uint64_t>() > 65534
                             : x.get<int64_t>() < 1 || x.get<int64_t>() > 65534)
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
