#include "clear_marker.hpp"

#include <cstring>
#include <string>

namespace durable::detail {

namespace {

std::string marker_key(const base_key& base) {
  std::string result{clear_marker_prefix};
  result.append(base.data(), base.size());
  return result;
}

} // namespace

void clear_set::insert(const base_key& base) {
  std::lock_guard<std::mutex> guard{mtx_};
  bases_.insert(base);
  size_.store(bases_.size(), std::memory_order_release);
}

void clear_set::erase(const base_key& base) {
  std::lock_guard<std::mutex> guard{mtx_};
  bases_.erase(base);
  size_.store(bases_.size(), std::memory_order_release);
}

std::vector<base_key> clear_set::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {bases_.begin(), bases_.end()};
}

int put_clear_marker(MDB_txn* txn, MDB_dbi meta, const base_key& base) {
  auto key = marker_key(base);
  auto k = as_val(key);
  MDB_val v{0, nullptr};
  return mdb_put(txn, meta, &k, &v, 0);
}

int del_clear_marker(MDB_txn* txn, MDB_dbi meta, const base_key& base) {
  auto key = marker_key(base);
  auto k = as_val(key);
  auto rc = mdb_del(txn, meta, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int load_clear_markers(MDB_txn* txn, MDB_dbi meta, std::vector<base_key>& out) {
  MDB_cursor* cursor = nullptr;
  if (auto rc = mdb_cursor_open(txn, meta, &cursor))
    return rc;
  auto k = as_val(clear_marker_prefix);
  MDB_val v;
  auto rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    auto key = as_view(k);
    if (!starts_with(key, clear_marker_prefix))
      break;
    if (key.size() != clear_marker_prefix.size() + base_size) {
      rc = MDB_CORRUPTED;
      break;
    }
    base_key base;
    std::memcpy(base.data(), key.data() + clear_marker_prefix.size(),
                base.size());
    out.push_back(base);
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

} // namespace durable::detail
