// The `meta` database and namespace-wide maintenance inside LMDB
// transactions: `meta_transaction` and the helpers `storage_engine` reads
// with.

#include "meta_ops.hpp"

#include <algorithm>
#include <cstring>

#include "alarm_store.hpp"
#include "durable/errc.hpp"
#include "kv_codec.hpp"
#include "lmdb_env.hpp"
#include "storage_engine_impl.hpp"

namespace durable {

using detail::as_val;
using detail::as_view;
using detail::starts_with;

namespace {

constexpr size_t max_meta_key_size = 400;

bool reserved(std::string_view key) noexcept {
  return key == detail::format_meta_key || key == detail::ns_next_key ||
         starts_with(key, detail::ns_prefix) ||
         starts_with(key, detail::clear_marker_prefix);
}

caf::error check_meta_key(std::string_view key) {
  if (key.empty() || key.size() > max_meta_key_size)
    return make_error(errc::invalid_argument,
                      "meta keys must have 1 to 400 bytes");
  if (reserved(key))
    return make_error(errc::invalid_argument,
                      "meta key \"" + std::string{key} +
                          "\" is reserved by the storage engine");
  return caf::none;
}

struct cursor_guard {
  MDB_cursor* cursor = nullptr;
  ~cursor_guard() {
    if (cursor != nullptr)
      mdb_cursor_close(cursor);
  }
};

} // namespace

namespace detail {

int get_meta(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
             std::optional<std::string>& out) {
  out.reset();
  auto k = as_val(key);
  MDB_val v;
  auto rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc == 0)
    out.emplace(as_view(v));
  return rc;
}

int scan_meta(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
              std::vector<meta_transaction::key_value>& out) {
  cursor_guard guard;
  if (auto rc = mdb_cursor_open(txn, dbi, &guard.cursor))
    return rc;
  MDB_val k = as_val(prefix);
  MDB_val v;
  auto op = prefix.empty() ? MDB_FIRST : MDB_SET_RANGE;
  int rc = mdb_cursor_get(guard.cursor, &k, &v, op);
  for (; rc == 0 && starts_with(as_view(k), prefix);
       rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_NEXT))
    out.emplace_back(std::string{as_view(k)}, std::string{as_view(v)});
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int find_number(MDB_txn* txn, MDB_dbi meta, std::string_view namespace_key,
                std::optional<uint32_t>& out) {
  out.reset();
  std::string key{detail::ns_prefix};
  key += namespace_key;
  std::optional<std::string> raw;
  if (auto rc = get_meta(txn, meta, key, raw))
    return rc;
  if (!raw)
    return 0;
  uint32_t nr = 0;
  if (!detail::parse_be32(*raw, nr))
    return MDB_CORRUPTED;
  out = nr;
  return 0;
}

// Deletes every kv entry and alarm of namespace number `ns`, counting them.
int drop_namespace(MDB_txn* txn, detail::environment& env, uint32_t ns,
                   namespace_usage& out) {
  auto prefix = detail::be32(ns);
  cursor_guard guard;
  if (auto rc = mdb_cursor_open(txn, env.kv(), &guard.cursor))
    return rc;
  std::string last_base;
  // Seek afresh after each delete, as kv_clear does.
  for (;;) {
    MDB_val k = as_val(prefix);
    MDB_val v;
    auto rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !starts_with(as_view(k), prefix)))
      break;
    if (rc != 0)
      return rc;
    auto key = as_view(k);
    if (key.size() < detail::base_size)
      return MDB_CORRUPTED;
    if (key.substr(0, detail::base_size) != last_base) {
      last_base.assign(key.substr(0, detail::base_size));
      ++out.objects;
    }
    ++out.keys;
    out.bytes += k.mv_size + v.mv_size;
    if ((rc = mdb_cursor_del(guard.cursor, 0)) != 0)
      return rc;
  }
  detail::alarm_dbs dbs{env.alarms(), env.alarm_index()};
  cursor_guard alarms;
  if (auto rc = mdb_cursor_open(txn, env.alarms(), &alarms.cursor))
    return rc;
  for (;;) {
    MDB_val k = as_val(prefix);
    MDB_val v;
    auto rc = mdb_cursor_get(alarms.cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !starts_with(as_view(k), prefix)))
      return 0;
    if (rc != 0)
      return rc;
    if (k.mv_size != detail::base_size)
      return MDB_CORRUPTED;
    detail::base_key base;
    std::memcpy(base.data(), k.mv_data, base.size());
    if ((rc = detail::alarm_del(txn, dbs, base)) != 0)
      return rc;
    ++out.alarms;
  }
}

// Sums what each namespace stores, walking kv and alarms once.
int usage_scan(MDB_txn* txn, detail::environment& env,
               std::vector<namespace_usage>& out) {
  auto entry = [&out](uint32_t ns) -> namespace_usage& {
    auto i = std::lower_bound(out.begin(), out.end(), ns,
                              [](const namespace_usage& x, uint32_t n) {
                                return x.namespace_number < n;
                              });
    if (i == out.end() || i->namespace_number != ns) {
      namespace_usage fresh;
      fresh.namespace_number = ns;
      i = out.insert(i, fresh);
    }
    return *i;
  };
  for (auto dbi : {env.kv(), env.alarms()}) {
    cursor_guard guard;
    if (auto rc = mdb_cursor_open(txn, dbi, &guard.cursor))
      return rc;
    MDB_val k;
    MDB_val v;
    std::string last_base;
    int rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(guard.cursor, &k, &v, MDB_NEXT)) {
      auto key = as_view(k);
      uint32_t ns = 0;
      if (key.size() < detail::base_size ||
          !detail::parse_be32(key.substr(0, 4), ns))
        return MDB_CORRUPTED;
      auto& u = entry(ns);
      if (dbi == env.alarms()) {
        ++u.alarms;
        continue;
      }
      if (key.substr(0, detail::base_size) != last_base) {
        last_base.assign(key.substr(0, detail::base_size));
        ++u.objects;
      }
      ++u.keys;
      u.bytes += k.mv_size + v.mv_size;
    }
    if (rc != MDB_NOTFOUND)
      return rc;
  }
  return 0;
}

} // namespace detail

// -- meta_transaction ---------------------------------------------------------

meta_transaction::meta_transaction(detail::meta_txn_state& state) noexcept
    : state_(&state) {
  // nop
}

jurisdiction meta_transaction::which() const noexcept {
  return state_->env->which();
}

#define DURABLE_META_CALL(op, expr)                                            \
  do {                                                                         \
    if (state_->rc == 0)                                                       \
      state_->rc = (expr);                                                     \
    if (state_->rc != 0)                                                       \
      return state_->env->error(op, state_->rc);                               \
  } while (false)

caf::expected<std::optional<std::string>>
meta_transaction::get(std::string_view key) {
  std::optional<std::string> result;
  DURABLE_META_CALL(
      "meta get",
      detail::get_meta(state_->txn, state_->env->meta(), key, result));
  return result;
}

caf::expected<std::vector<meta_transaction::key_value>>
meta_transaction::scan(std::string_view prefix) {
  std::vector<key_value> result;
  DURABLE_META_CALL(
      "meta scan",
      detail::scan_meta(state_->txn, state_->env->meta(), prefix, result));
  return result;
}

caf::error meta_transaction::put(std::string_view key, std::string_view value) {
  if (auto err = check_meta_key(key))
    return err;
  auto k = as_val(key);
  auto v = as_val(value);
  DURABLE_META_CALL("meta put",
                    mdb_put(state_->txn, state_->env->meta(), &k, &v, 0));
  return caf::none;
}

caf::error meta_transaction::remove(std::string_view key) {
  if (auto err = check_meta_key(key))
    return err;
  auto k = as_val(key);
  DURABLE_META_CALL("meta remove", [&] {
    auto rc = mdb_del(state_->txn, state_->env->meta(), &k, nullptr);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }());
  return caf::none;
}

caf::expected<std::optional<uint32_t>>
meta_transaction::find_namespace_number(std::string_view namespace_key) {
  std::optional<uint32_t> result;
  DURABLE_META_CALL("find namespace number",
                    detail::find_number(state_->txn, state_->env->meta(),
                                        namespace_key, result));
  return result;
}

caf::expected<namespace_usage>
meta_transaction::drop_namespace_data(std::string_view namespace_key) {
  auto nr = find_namespace_number(namespace_key);
  if (!nr)
    return std::move(nr.error());
  namespace_usage result;
  if (!*nr)
    return result;
  result.namespace_number = **nr;
  DURABLE_META_CALL(
      "drop namespace data",
      detail::drop_namespace(state_->txn, *state_->env, **nr, result));
  return result;
}

#undef DURABLE_META_CALL

} // namespace durable
