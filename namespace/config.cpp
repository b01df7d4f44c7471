#include "durable/config.hpp"

#include <vector>

#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/object_id.hpp"

namespace durable {

void add_message_types(caf::actor_system_config& cfg) {
  add_error_category(cfg);
  cfg.add_message_type<object_id>("durable::object_id");
  cfg.add_message_type<fetch_request>("durable::fetch_request");
  cfg.add_message_type<fetch_response>("durable::fetch_response");
}

config::config() {
  opt_group{custom_options_, "durable"}
      .add<std::string>("data-dir", "directory for storage and the secret")
      .add<std::string>("secret-file",
                        "file with the 32-byte deployment secret")
      .add<std::string>("secret", "deployment secret as 64 hex digits")
      .add<std::string>("script", "program name recorded for new namespaces")
      .add<caf::timespan>("idle-timeout", "evict objects idle this long")
      .add<size_t>("max-queued", "maximum queued requests per object")
      .add<size_t>("map-size", "initial LMDB map size in bytes")
      .add<size_t>("max-map-size", "LMDB maps grow up to this many bytes")
      .add<std::string>("location", "this node's location hint")
      .add<std::vector<std::string>>("jurisdictions",
                                     "jurisdictions this node may hold");
  durable::add_message_types(*this);
}

caf::expected<settings>
settings::from_config(const caf::actor_system_config& cfg) {
  settings result;
  result.data_dir = caf::get_or(cfg, "durable.data-dir", result.data_dir);
  result.secret_file = caf::get_or(cfg, "durable.secret-file", std::string{});
  result.secret_hex = caf::get_or(cfg, "durable.secret", std::string{});
  result.script = caf::get_or(cfg, "durable.script", std::string{});
  result.idle_timeout =
      caf::get_or(cfg, "durable.idle-timeout", result.idle_timeout);
  auto max_queued =
      caf::get_or(cfg, "durable.max-queued", size_t{result.max_queued});
  if (max_queued == 0 || max_queued >= 0x80000000u)
    return make_error(errc::invalid_argument,
                      "durable.max-queued must be between 1 and 2^31 - 1");
  result.max_queued = static_cast<uint32_t>(max_queued);
  result.map_size = caf::get_or(cfg, "durable.map-size", result.map_size);
  result.max_map_size =
      caf::get_or(cfg, "durable.max-map-size", result.max_map_size);
  if (result.map_size == 0 || result.max_map_size < result.map_size)
    return make_error(errc::invalid_argument,
                      "durable.map-size must be positive and at most "
                      "durable.max-map-size");
  if (result.idle_timeout <= caf::timespan{0})
    return make_error(errc::invalid_argument,
                      "durable.idle-timeout must be positive");
  auto node = node_description::from_config(cfg);
  if (!node)
    return std::move(node.error());
  result.node = *node;
  if (result.data_dir.empty())
    return make_error(errc::invalid_argument,
                      "durable.data-dir must not be empty");
  if (result.secret_file.empty())
    result.secret_file = result.data_dir + "/secret";
  return result;
}

} // namespace durable
