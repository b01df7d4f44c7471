#include "durable/node.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

namespace durable {

node_description::node_description()
    : location_(location_hint::none), allowed_(0) {
  for (auto x : restricted_jurisdictions)
    allowed_ |= bit(x);
}

node_description::node_description(location_hint location,
                                   const std::vector<jurisdiction>& allowed)
    : location_(location), allowed_(0) {
  for (auto x : allowed)
    allowed_ |= bit(x);
}

caf::expected<node_description>
node_description::from_config(const caf::actor_system_config& cfg) {
  node_description result;
  auto location = caf::get_or(cfg, "durable.location", std::string{});
  if (!location.empty()) {
    auto hint = parse_location_hint(location);
    if (!hint)
      return std::move(hint.error());
    result.location_ = *hint;
  }
  if (auto names = caf::get_if<std::vector<std::string>>(
          &cfg, "durable.jurisdictions")) {
    result.allowed_ = 0;
    for (auto& name : *names) {
      auto x = parse_jurisdiction(name);
      if (!x)
        return std::move(x.error());
      result.allowed_ |= bit(*x);
    }
  }
  return result;
}

std::vector<jurisdiction> node_description::jurisdictions() const {
  std::vector<jurisdiction> result;
  for (auto x : restricted_jurisdictions)
    if (may_hold(x))
      result.push_back(x);
  return result;
}

} // namespace durable
