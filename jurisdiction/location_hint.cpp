#include "durable/location_hint.hpp"

#include <string>

#include "durable/errc.hpp"

namespace durable {

std::string_view to_string(location_hint x) {
  switch (x) {
  case location_hint::none:
    return "";
  case location_hint::wnam:
    return "wnam";
  case location_hint::enam:
    return "enam";
  case location_hint::sam:
    return "sam";
  case location_hint::weur:
    return "weur";
  case location_hint::eeur:
    return "eeur";
  case location_hint::apac:
    return "apac";
  case location_hint::apac_ne:
    return "apac-ne";
  case location_hint::apac_se:
    return "apac-se";
  case location_hint::oc:
    return "oc";
  case location_hint::afr:
    return "afr";
  case location_hint::me:
    return "me";
  }
  return "";
}

caf::expected<location_hint> parse_location_hint(std::string_view name) {
  for (auto x : all_location_hints)
    if (to_string(x) == name)
      return x;
  std::string what = "unsupported location hint: \"";
  what.append(name.data(), name.size());
  what += '"';
  return make_error(errc::unsupported_location_hint, std::move(what));
}

} // namespace durable
