#include "durable/config.hpp"

#include <cstdlib>
#include <vector>

#include <caf/settings.hpp>

#include "durable/actor_thread.hpp"
#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/object_id.hpp"
#include "durable/object_runtime.hpp"
#include "durable/websocket.hpp"

namespace durable {

void add_message_types(caf::actor_system_config& cfg) {
  add_error_category(cfg);
  cfg.add_message_type<object_id>("durable::object_id");
  cfg.add_message_type<fetch_request>("durable::fetch_request");
  cfg.add_message_type<fetch_response>("durable::fetch_response");
  cfg.add_message_type<websocket_open>("durable::websocket_open");
  cfg.add_message_type<websocket_message>("durable::websocket_message");
  cfg.add_message_type<websocket_close>("durable::websocket_close");
  cfg.add_message_type<websocket_error>("durable::websocket_error");
  watch_actor_threads(cfg);
}

config::config() {
  opt_group{custom_options_, "durable"}
      .add<std::string>("data-dir", "directory for storage and the secret")
      .add<std::string>("secret-file",
                        "file with the 32-byte deployment secret")
      // Declared only so that CAF's parser knows it: an unknown option's
      // error would echo the value. from_config refuses any value, and
      // dump_content redacts it.
      .add<std::string>("secret", "refused (would show in ps): use "
                                  "secret-file or DURABLE_SECRET")
      .add<std::string>("script", "program name recorded for new namespaces")
      .add<caf::timespan>("idle-timeout", "evict objects idle this long")
      .add<size_t>("max-queued", "maximum queued requests per object")
      .add<size_t>("max-queued-total",
                   "maximum queued requests of all objects of this node")
      .add<size_t>("max-live-objects",
                   "maximum live objects on this node (LRU idle eviction "
                   "beyond 15/16 of it)")
      .add<caf::timespan>("shutdown-timeout",
                          "how long shutdown waits for objects to finish")
      .add<size_t>("map-size", "initial LMDB map size in bytes")
      .add<size_t>("max-map-size", "LMDB maps grow up to this many bytes")
      .add<std::string>("check-data-file",
                        "full (walk every B-tree page before LMDB maps a "
                        "data file) or meta (meta pages and length only)")
      .add<std::string>("location", "this node's location hint")
      .add<std::vector<std::string>>("jurisdictions",
                                     "jurisdictions this node may hold");
  durable::add_message_types(*this);
}

caf::settings config::dump_content() const {
  auto result = caf::actor_system_config::dump_content();
  // from_config refuses `durable.secret`, but --dump-config prints before
  // that: never print it.
  if (auto i = result.find("durable"); i != result.end())
    if (auto group = caf::get_if<caf::settings>(&i->second))
      if (auto j = group->find("secret"); j != group->end())
        j->second = std::string{"<redacted>"};
  return result;
}

caf::expected<settings>
settings::from_config(const caf::actor_system_config& cfg) {
  settings result;
  // A secret given as an option shows in `ps` (command line) and in config
  // dumps; only files and the environment (readable by the same user only)
  // carry it. The error never echoes the value.
  if (caf::get_if(&caf::content(cfg), "durable.secret") != nullptr)
    return make_error(errc::invalid_argument,
                      "the option durable.secret is not accepted (it would "
                      "show in ps and --dump-config): use durable.secret-file "
                      "or the environment variable " +
                          std::string{secret_env_var});
  result.data_dir = caf::get_or(cfg, "durable.data-dir", result.data_dir);
  result.secret_file = caf::get_or(cfg, "durable.secret-file", std::string{});
  if (auto env = std::getenv(secret_env_var); env != nullptr && *env != '\0')
    result.secret_hex = env;
  result.script = caf::get_or(cfg, "durable.script", std::string{});
  result.idle_timeout =
      caf::get_or(cfg, "durable.idle-timeout", result.idle_timeout);
  auto max_queued =
      caf::get_or(cfg, "durable.max-queued", size_t{result.max_queued});
  if (max_queued == 0 || max_queued > object_runtime::count_mask)
    return make_error(errc::invalid_argument,
                      "durable.max-queued must be between 1 and 2^30 - 1");
  result.max_queued = static_cast<uint32_t>(max_queued);
  result.max_queued_total =
      caf::get_or(cfg, "durable.max-queued-total", result.max_queued_total);
  if (result.max_queued_total == 0)
    return make_error(errc::invalid_argument,
                      "durable.max-queued-total must be positive");
  result.max_live_objects =
      caf::get_or(cfg, "durable.max-live-objects", result.max_live_objects);
  if (result.max_live_objects < 16)
    return make_error(errc::invalid_argument,
                      "durable.max-live-objects must be at least 16");
  result.shutdown_timeout =
      caf::get_or(cfg, "durable.shutdown-timeout", result.shutdown_timeout);
  if (result.shutdown_timeout < caf::timespan{0})
    return make_error(errc::invalid_argument,
                      "durable.shutdown-timeout must not be negative");
  result.map_size = caf::get_or(cfg, "durable.map-size", result.map_size);
  result.max_map_size =
      caf::get_or(cfg, "durable.max-map-size", result.max_map_size);
  if (result.map_size == 0 || result.max_map_size < result.map_size)
    return make_error(errc::invalid_argument,
                      "durable.map-size must be positive and at most "
                      "durable.max-map-size");
  auto check = caf::get_or(cfg, "durable.check-data-file", std::string{"full"});
  if (check == "meta")
    result.check_data_file = data_file_check::meta;
  else if (check != "full")
    return make_error(errc::invalid_argument,
                      "durable.check-data-file must be full or meta");
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
