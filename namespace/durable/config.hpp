#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "durable/node.hpp"
#include "durable/storage_options.hpp"

namespace durable {

/// Registers caf-durable's message types and error category with `cfg`. The
/// `durable::config` constructor calls this; applications with a config class
/// of their own call it in their constructor.
void add_message_types(caf::actor_system_config& cfg);

// clang-format off
/// An `actor_system_config` with caf-durable's options under `durable.*`,
/// readable from caf-application.ini and `--durable.<name>=<value>`:
///
/// | option        | default               | meaning                              |
/// |---------------|-----------------------|--------------------------------------|
/// | data-dir      | `durable-data`        | storage and secret directory         |
/// | secret-file   | `<data-dir>/secret`   | 32-byte deployment secret            |
/// | idle-timeout  | `70s`                 | evict objects idle this long         |
/// | max-queued    | `10000`               | queued requests per object           |
/// | max-queued-total | `1000000`          | queued requests of the whole node    |
/// | max-live-objects | `1000000`          | live objects of the whole node       |
/// | shutdown-timeout | `10s`              | how long shutdown waits for objects  |
/// | location      | (none)                | this node's location hint            |
/// | jurisdictions | all                   | jurisdictions this node holds        |
/// | script        | (none)                | program recorded for new namespaces  |
///
/// The deployment secret comes from `secret-file` or, if set, from the
/// environment variable `DURABLE_SECRET` (64 hex digits). `durable.secret`
/// is refused: a command line shows in `ps` and options show in
/// `--dump-config`. It stays declared only so that CAF's parser does not
/// echo its value as an unknown option; `from_config` refuses any value and
/// `dump_content` redacts it.
// clang-format on
class config : public caf::actor_system_config {
public:
  config();

  /// What `--dump-config` prints: CAF's dump with any `durable.secret`
  /// replaced by `<redacted>`.
  caf::settings dump_content() const override;
};

/// The environment variable that may carry the deployment secret as 64 hex
/// digits (instead of the secret file).
constexpr const char* secret_env_var = "DURABLE_SECRET";

/// The `durable.*` settings of an actor system, read once.
struct settings {
  std::string data_dir = "durable-data";
  std::string secret_file; ///< Empty: `<data_dir>/secret`.
  /// The secret as 64 hex digits; empty: use `secret_file`. `from_config`
  /// takes it from the environment variable `DURABLE_SECRET`.
  std::string secret_hex;
  /// The program name recorded for namespaces that `bind` registers.
  std::string script;
  caf::timespan idle_timeout = std::chrono::seconds{70};
  uint32_t max_queued = 10000;
  /// Requests queued (admitted, not yet handled) by all objects together;
  /// beyond it callers get `errc::overloaded`. Bounds memory under load.
  size_t max_queued_total = 1000000;
  /// Live objects of all namespaces together; above 15/16 of it the least
  /// recently used idle objects are evicted, at the limit new objects are
  /// refused with `errc::overloaded`.
  size_t max_live_objects = 1000000;
  /// How long `deployment::shutdown` waits for objects to answer their
  /// queues and terminate.
  caf::timespan shutdown_timeout = std::chrono::seconds{10};
  size_t map_size = size_t{64} << 20;     ///< Initial LMDB map size.
  size_t max_map_size = size_t{64} << 30; ///< The map grows up to this.
  /// How each `data.mdb` is checked before it is mapped
  /// (`durable.check-data-file`: `full` or `meta`).
  data_file_check check_data_file = data_file_check::full;
  node_description node;
  /// How often due alarms are looked for.
  caf::timespan alarm_poll_interval = std::chrono::milliseconds{20};
  /// The alarm clock in milliseconds since the epoch; empty for the system
  /// clock. Tests inject a manual clock here.
  std::function<int64_t()> clock;

  /// Reads the settings from `cfg`, defaults for what is absent.
  static caf::expected<settings> from_config(const caf::actor_system_config&);
};

} // namespace durable
