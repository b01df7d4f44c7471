// Metadata, maintenance and statistics of a storage engine: the `meta`
// database beyond namespace numbers, `update` transactions on the commit
// writer and per-namespace usage.

#include <future>
#include <memory>
#include <utility>

#include "durable/errc.hpp"
#include "durable/meta_transaction.hpp"
#include "durable/storage_engine.hpp"
#include "lmdb_env.hpp"
#include "meta_ops.hpp"
#include "storage_engine_impl.hpp"
#include "write_set_data.hpp"

namespace durable {

using detail::meta_txn_state;

// -- storage_engine: properties -----------------------------------------------

bool storage_engine::read_only() const noexcept {
  return impl_->opts.read_only;
}

// -- storage_engine: namespaces -----------------------------------------------

caf::expected<std::optional<uint32_t>>
storage_engine::find_namespace_number(jurisdiction j,
                                      std::string_view namespace_key) {
  {
    std::lock_guard<std::mutex> guard{impl_->ns_mtx};
    auto i = impl_->ns_cache.find(
        std::make_pair(static_cast<uint8_t>(j), std::string{namespace_key}));
    if (i != impl_->ns_cache.end())
      return std::optional<uint32_t>{i->second};
  }
  return impl_->read<std::optional<uint32_t>>(
      j, "find_namespace_number", [&](MDB_txn* txn, auto& env, auto& result) {
        return detail::find_number(txn, env.meta(), namespace_key, result);
      });
}

caf::expected<std::vector<std::pair<std::string, uint32_t>>>
storage_engine::namespace_numbers(jurisdiction j) {
  std::vector<std::pair<std::string, uint32_t>> result;
  auto s = impl_->get(j, false);
  if (!s)
    return std::move(s.error());
  if (*s == nullptr)
    return result;
  auto& env = *(*s)->env;
  std::vector<meta_transaction::key_value> raw;
  auto err = env.read("namespace_numbers", [&](MDB_txn* txn) {
    return detail::scan_meta(txn, env.meta(), detail::ns_prefix, raw);
  });
  if (err)
    return err;
  for (auto& [key, value] : raw) {
    uint32_t nr = 0;
    if (!detail::parse_be32(value, nr))
      return env.error("namespace_numbers", MDB_CORRUPTED);
    result.emplace_back(key.substr(detail::ns_prefix.size()), nr);
  }
  return result;
}

caf::expected<std::vector<namespace_usage>>
storage_engine::usage(jurisdiction j) {
  return impl_->read<std::vector<namespace_usage>>(
      j, "usage", [](MDB_txn* txn, auto& env, auto& result) {
        return detail::usage_scan(txn, env, result);
      });
}

// -- storage_engine: metadata and maintenance ---------------------------------

caf::expected<std::optional<std::string>>
storage_engine::meta_get(jurisdiction j, std::string_view key) {
  return impl_->read<std::optional<std::string>>(
      j, "meta_get", [&](MDB_txn* txn, auto& env, auto& result) {
        return detail::get_meta(txn, env.meta(), key, result);
      });
}

caf::expected<std::vector<meta_transaction::key_value>>
storage_engine::meta_scan(jurisdiction j, std::string_view prefix) {
  return impl_->read<std::vector<meta_transaction::key_value>>(
      j, "meta_scan", [&](MDB_txn* txn, auto& env, auto& result) {
        return detail::scan_meta(txn, env.meta(), prefix, result);
      });
}

caf::error storage_engine::update(jurisdiction j, update_function fn) {
  if (impl_->opts.read_only)
    return detail::read_only_error();
  if (!fn)
    return make_error(errc::invalid_argument, "update: no function");
  auto s = impl_->require(j);
  if (!s)
    return std::move(s.error());
  auto env = (*s)->env;
  // Written by the writer thread, read here after the completion.
  auto rejected = std::make_shared<caf::error>();
  auto data = std::make_shared<detail::write_set_data>();
  data->env = env;
  data->byte_size = 64;
  data->custom = [raw = env.get(), fn = std::move(fn),
                  rejected](MDB_txn* txn) -> int {
    *rejected = caf::none;
    meta_txn_state state{txn, raw};
    meta_transaction tx{state};
    caf::error err;
    try {
      err = fn(tx);
    } catch (...) {
      err = make_error(errc::invalid_argument, "an update function threw");
    }
    if (state.rc != 0)
      return state.rc;
    if (err) {
      *rejected = std::move(err);
      return detail::update_rejected;
    }
    return 0;
  };
  std::promise<caf::error> done;
  auto result = done.get_future();
  (*s)->writer->submit(write_set{std::move(data)},
                       [&done](const caf::error& e) { done.set_value(e); });
  auto err = result.get();
  if (err && *rejected)
    return std::move(*rejected);
  return err;
}

} // namespace durable
