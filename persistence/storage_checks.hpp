#pragma once

// Internal header of the persistence layer (never installed): the limits of
// storage calls, checked with the original model's error texts.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "durable/list_options.hpp"

namespace durable::detail {

/// Keys up to `storage_limits::max_key_size` bytes.
caf::error check_key(std::string_view key);

/// Values up to `storage_limits::max_value_size` bytes.
caf::error check_value(std::string_view value);

/// At most `storage_limits::max_batch_size` keys or pairs per call.
caf::error check_count(size_t n);

/// `check_count`, then `check_key` for each key.
caf::error check_keys(const std::vector<std::string>& keys);

/// Checks the options of a `list` call and turns start, start_after, end and
/// prefix into one range [lo, hi) of keys (unset: unbounded).
caf::error list_range(const list_options& opts, std::optional<std::string>& lo,
                      std::optional<std::string>& hi);

} // namespace durable::detail
