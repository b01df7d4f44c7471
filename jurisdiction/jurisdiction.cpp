#include "durable/jurisdiction.hpp"

#include "durable/errc.hpp"

namespace durable {

std::string_view to_string(jurisdiction x) {
  switch (x) {
  case jurisdiction::none:
    return "";
  case jurisdiction::eu:
    return "eu";
  case jurisdiction::fedramp:
    return "fedramp";
  case jurisdiction::fedramp_high:
    return "fedramp-high";
  case jurisdiction::us:
    return "us";
  }
  return "";
}

std::string_view storage_name(jurisdiction x) {
  return x == jurisdiction::none ? "global" : to_string(x);
}

caf::expected<jurisdiction> parse_jurisdiction(std::string_view name) {
  for (auto x : restricted_jurisdictions)
    if (to_string(x) == name)
      return x;
  std::string what = "unsupported jurisdiction: \"";
  what.append(name.data(), name.size());
  what += '"';
  return make_error(errc::unsupported_jurisdiction, std::move(what));
}

caf::expected<jurisdiction> jurisdiction_from_code(uint8_t code) {
  if (code <= static_cast<uint8_t>(jurisdiction::us))
    return static_cast<jurisdiction>(code);
  return make_error(errc::unsupported_jurisdiction,
                    "unsupported jurisdiction code: " + std::to_string(code));
}

} // namespace durable
