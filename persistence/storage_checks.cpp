#include "storage_checks.hpp"

#include "durable/errc.hpp"
#include "durable/storage_types.hpp"
#include "kv_codec.hpp"

namespace durable::detail {

caf::error check_key(std::string_view key) {
  if (key.size() <= storage_limits::max_key_size)
    return caf::none;
  return make_error(errc::invalid_argument,
                    "Keys cannot be larger than 2048 bytes. A key of size " +
                        std::to_string(key.size()) + " was provided.");
}

caf::error check_value(std::string_view value) {
  if (value.size() <= storage_limits::max_value_size)
    return caf::none;
  return make_error(errc::invalid_argument,
                    "Values cannot be larger than 131072 bytes. A value of "
                    "size " +
                        std::to_string(value.size()) + " was provided.");
}

caf::error check_count(size_t n) {
  if (n <= storage_limits::max_batch_size)
    return caf::none;
  return make_error(errc::invalid_argument,
                    "Maximum number of key value pairs is 128. " +
                        std::to_string(n) + " pairs were provided.");
}

caf::error check_keys(const std::vector<std::string>& keys) {
  if (auto err = check_count(keys.size()))
    return err;
  for (auto& key : keys)
    if (auto err = check_key(key))
      return err;
  return caf::none;
}

caf::error list_range(const list_options& opts, std::optional<std::string>& lo,
                      std::optional<std::string>& hi) {
  if (opts.start && opts.start_after)
    return make_error(errc::invalid_argument,
                      "list() cannot be called with both start and "
                      "startAfter values.");
  if (opts.limit && *opts.limit <= 0)
    return make_error(errc::invalid_argument, "List limit must be positive.");
  if (opts.start)
    lo = *opts.start;
  if (opts.start_after) {
    lo = *opts.start_after;
    lo->push_back('\0'); // the smallest key after start_after
  }
  if (opts.end)
    hi = *opts.end;
  if (opts.prefix && !opts.prefix->empty()) {
    if (!lo || *lo < *opts.prefix)
      lo = *opts.prefix;
    auto pe = prefix_end(*opts.prefix);
    if (!pe.empty() && (!hi || pe < *hi))
      hi = std::move(pe);
  }
  return caf::none;
}

} // namespace durable::detail
