#include "durable/object_storage.hpp"

#include <cstring>
#include <limits>
#include <set>

#include "alarm_store.hpp"
#include "durable/errc.hpp"
#include "kv_codec.hpp"
#include "lmdb_env.hpp"
#include "storage_checks.hpp"
#include "storage_overlay.hpp"
#include "write_set_data.hpp"

namespace durable {

using detail::alarm_op;
using detail::check_count;
using detail::check_key;
using detail::check_keys;
using detail::check_value;

namespace {

caf::error broken_error() {
  return make_error(errc::object_reset,
                    "a commit of this object's storage failed; the object "
                    "must be recreated from its durable state");
}

} // namespace

// -- impl ---------------------------------------------------------------------

/// A buffer for encoding LMDB keys, one per thread rather than one per
/// object: reads finish with it before they return, and objects are many.
static std::string& key_scratch() {
  static thread_local std::string buf;
  return buf;
}

struct object_storage::impl {
  std::shared_ptr<detail::environment> env;
  std::shared_ptr<detail::write_chain> chain;
  /// Null while it would hold nothing: most live objects are idle.
  std::unique_ptr<detail::storage_overlay> overlay;
  uint64_t next_seq = 1;
  uint64_t last_committed = 0;
  /// Namespace number and object ID, as the prefix of every LMDB key.
  detail::base_key base;
  bool broken = false;

  impl(std::shared_ptr<detail::environment> e, uint32_t n,
       const object_bytes& i)
      : env(std::move(e)),
        chain(std::make_shared<detail::write_chain>()),
        base(detail::make_base(n, i)) {
    // nop
  }

  /// The overlay for reading (an empty one if there is none).
  const detail::storage_overlay& view() const {
    static const detail::storage_overlay empty;
    return overlay ? *overlay : empty;
  }

  /// The overlay for writing, made on first use.
  detail::storage_overlay& edit() {
    if (!overlay)
      overlay = std::make_unique<detail::storage_overlay>();
    return *overlay;
  }

  /// Returns whether LMDB holds nothing of this object for its reads: a
  /// delete_all of it (in this turn, in flight, or interrupted by a crash)
  /// is not finished.
  bool committed_hidden() const {
    return view().hides_committed() || env->clearing().contains(base);
  }

  /// Drops the overlay once it holds nothing.
  void shrink() {
    if (overlay && overlay->idle())
      overlay.reset();
  }

  // Reads `key` through the overlay, falling back to LMDB.
  caf::error lookup(std::string_view key, std::optional<std::string>& out) {
    if (view().find(key, out) || committed_hidden())
      return caf::none;
    return env->read("get", [&](MDB_txn* txn) {
      std::optional<std::string_view> found;
      auto rc = detail::kv_get(txn, env->kv(), base, key, key_scratch(), found);
      if (rc == 0 && found)
        out.emplace(*found);
      return rc;
    });
  }
};

// -- constructors, destructors, and assignment operators ----------------------

object_storage::object_storage(std::shared_ptr<detail::environment> env,
                               uint32_t ns, const object_bytes& id)
    : impl_(std::make_unique<impl>(std::move(env), ns, id)) {
  // nop
}

object_storage::object_storage(object_storage&&) noexcept = default;

object_storage& object_storage::operator=(object_storage&&) noexcept = default;

object_storage::~object_storage() = default;

// -- properties ---------------------------------------------------------------

jurisdiction object_storage::which() const noexcept {
  return impl_->env->which();
}

uint32_t object_storage::namespace_number() const noexcept {
  auto& b = impl_->base;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(uint8_t(b[i])); };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

object_bytes object_storage::id() const noexcept {
  object_bytes result;
  std::memcpy(result.data(), impl_->base.data() + 4, result.size());
  return result;
}

// -- reading ------------------------------------------------------------------

caf::expected<std::optional<std::string>>
object_storage::get(std::string_view key) {
  if (impl_->broken)
    return broken_error();
  if (auto err = check_key(key))
    return err;
  std::optional<std::string> result;
  if (auto err = impl_->lookup(key, result))
    return err;
  return result;
}

caf::expected<std::map<std::string, std::string>>
object_storage::get(const std::vector<std::string>& keys) {
  auto& st = *impl_;
  if (st.broken)
    return broken_error();
  if (auto err = check_keys(keys))
    return err;
  std::map<std::string, std::string> result;
  std::vector<const std::string*> misses;
  for (auto& key : keys) {
    std::optional<std::string> value;
    if (!st.view().find(key, value))
      misses.push_back(&key);
    else if (value)
      result.emplace(key, std::move(*value));
  }
  if (misses.empty() || st.committed_hidden())
    return result;
  // One read transaction for all keys the overlay does not decide.
  auto err = st.env->read("get", [&](MDB_txn* txn) {
    for (auto* key : misses) {
      std::optional<std::string_view> found;
      auto rc = detail::kv_get(txn, st.env->kv(), st.base, *key, key_scratch(),
                               found);
      if (rc != 0)
        return rc;
      if (found)
        result.emplace(*key, std::string{*found});
    }
    return 0;
  });
  if (err)
    return err;
  return result;
}

caf::expected<std::vector<object_storage::key_value>>
object_storage::list(const list_options& opts) {
  auto& st = *impl_;
  if (st.broken)
    return broken_error();
  std::optional<std::string> lo;
  std::optional<std::string> hi;
  if (auto err = detail::list_range(opts, lo, hi))
    return err;
  std::vector<key_value> result;
  if (lo && hi && *lo >= *hi)
    return result;
  auto limit = opts.limit ? static_cast<size_t>(*opts.limit)
                          : std::numeric_limits<size_t>::max();
  if (st.committed_hidden()) {
    st.view().merge(lo, hi, opts.reverse, limit, nullptr, result);
    return result;
  }
  std::optional<std::string_view> lo_view;
  std::optional<std::string_view> hi_view;
  if (lo)
    lo_view = *lo;
  if (hi)
    hi_view = *hi;
  auto err = st.env->read("list", [&](MDB_txn* txn) {
    detail::kv_scanner db{txn,     st.env->kv(), st.base,
                          lo_view, hi_view,      opts.reverse};
    return st.view().merge(lo, hi, opts.reverse, limit, &db, result);
  });
  if (err)
    return err;
  return result;
}

// -- writing ------------------------------------------------------------------

caf::error object_storage::put(std::string_view key, std::string_view value,
                               write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (auto err = check_key(key))
    return err;
  if (auto err = check_value(value))
    return err;
  impl_->edit().put(key, value, !opts.allow_unconfirmed);
  return caf::none;
}

caf::error object_storage::put(const std::vector<key_value>& entries,
                               write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (auto err = check_count(entries.size()))
    return err;
  for (auto& [key, value] : entries) {
    if (auto err = check_key(key))
      return err;
    if (auto err = check_value(value))
      return err;
  }
  for (auto& [key, value] : entries)
    impl_->edit().put(key, value, !opts.allow_unconfirmed);
  return caf::none;
}

caf::expected<bool> object_storage::remove(std::string_view key,
                                           write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (auto err = check_key(key))
    return err;
  std::optional<std::string> old;
  if (auto err = impl_->lookup(key, old))
    return err;
  // Deleting an absent key changes nothing: no write, no commit.
  if (!old)
    return false;
  impl_->edit().erase(key, !opts.allow_unconfirmed);
  return true;
}

caf::expected<size_t>
object_storage::remove(const std::vector<std::string>& keys,
                       write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (auto err = check_keys(keys))
    return err;
  // Read everything first: a failing read must leave the state unchanged.
  std::set<std::string_view> existing;
  for (auto& key : keys) {
    if (existing.count(key) != 0)
      continue;
    std::optional<std::string> old;
    if (auto err = impl_->lookup(key, old))
      return err;
    if (old)
      existing.insert(key);
  }
  for (auto key : existing)
    impl_->edit().erase(key, !opts.allow_unconfirmed);
  return existing.size();
}

caf::error object_storage::delete_all(write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (impl_->view().in_transaction())
    return make_error(errc::invalid_argument,
                      "Cannot call deleteAll() within a transaction");
  impl_->edit().clear_all(!opts.allow_unconfirmed);
  return caf::none;
}

bool object_storage::in_transaction() const noexcept {
  return impl_->view().in_transaction();
}

size_t object_storage::begin_transaction() {
  return impl_->edit().begin_transaction();
}

void object_storage::end_transaction(size_t mark, bool rollback) {
  impl_->edit().end_transaction(mark, rollback);
}

caf::error object_storage::trailing_bytes_error(std::string_view key) {
  std::string text = "the value of key \"";
  text.append(key.substr(0, 64));
  text += "\" has trailing bytes: it was stored as another type";
  return make_error(errc::invalid_argument, std::move(text));
}

// -- alarms -------------------------------------------------------------------

caf::expected<std::optional<int64_t>> object_storage::get_alarm() {
  auto& st = *impl_;
  if (st.broken)
    return broken_error();
  std::optional<int64_t> result;
  if (st.view().find_alarm(result))
    return result;
  auto err = st.env->read("get_alarm", [&](MDB_txn* txn) {
    return detail::alarm_get(txn, {st.env->alarms(), st.env->alarm_index()},
                             st.base, result);
  });
  if (err)
    return err;
  return result;
}

caf::error object_storage::set_alarm(int64_t time_ms, write_options opts) {
  if (impl_->broken)
    return broken_error();
  if (time_ms <= 0)
    return make_error(errc::invalid_argument,
                      "setAlarm() cannot be called with an alarm time <= 0");
  impl_->edit().set_alarm(alarm_op{alarm_op::kind::set, time_ms},
                          !opts.allow_unconfirmed);
  return caf::none;
}

caf::error object_storage::delete_alarm(write_options opts) {
  if (impl_->broken)
    return broken_error();
  impl_->edit().set_alarm(alarm_op{alarm_op::kind::remove, 0},
                          !opts.allow_unconfirmed);
  return caf::none;
}

// -- turns --------------------------------------------------------------------

write_set object_storage::end_turn() {
  auto& st = *impl_;
  if (!st.overlay)
    return write_set{};
  if (st.broken) {
    st.overlay.reset();
    return write_set{};
  }
  auto data = st.overlay->seal(st.next_seq);
  if (!data) {
    st.shrink();
    return write_set{};
  }
  ++st.next_seq;
  data->env = st.env;
  data->chain = st.chain;
  data->base = st.base;
  return write_set{std::move(data)};
}

write_set object_storage::barrier() {
  auto& st = *impl_;
  auto data = std::make_shared<detail::write_set_data>();
  data->env = st.env;
  data->chain = st.chain;
  data->base = st.base;
  data->seq = st.next_seq++;
  return write_set{std::move(data)};
}

uint64_t object_storage::durable_seq() const noexcept {
  return impl_->chain->durable.load(std::memory_order_acquire);
}

void object_storage::on_failure(std::function<void(const caf::error&)> fn) {
  impl_->chain->on_failure = std::move(fn);
}

void object_storage::discard_turn() {
  auto& st = *impl_;
  if (st.overlay) {
    st.overlay->discard_turn();
    st.shrink();
  }
}

void object_storage::committed(uint64_t seq) {
  auto& st = *impl_;
  if (!st.overlay)
    return;
  if (auto last = st.overlay->committed(seq))
    st.last_committed = last;
  st.shrink();
}

void object_storage::failed(const caf::error&) {
  auto& st = *impl_;
  st.broken = true;
  st.chain->failed.store(true, std::memory_order_release);
  st.overlay.reset();
}

bool object_storage::has_pending() const noexcept {
  return impl_->view().has_pending();
}

uint64_t object_storage::last_sealed() const noexcept {
  return impl_->next_seq - 1;
}

uint64_t object_storage::last_committed() const noexcept {
  return impl_->last_committed;
}

bool object_storage::turn_dirty() const noexcept {
  return impl_->view().dirty();
}

} // namespace durable
