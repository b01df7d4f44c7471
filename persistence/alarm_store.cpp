#include "alarm_store.hpp"

#include <cstring>

namespace durable::detail {

namespace {

void put_be64(char* out, uint64_t x) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(x & 0xFF);
    x >>= 8;
  }
}

uint64_t get_be64(const char* in) noexcept {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(in[i]);
  return x;
}

MDB_val as_val(const base_key& base) noexcept {
  return MDB_val{base.size(), const_cast<char*>(base.data())};
}

// time + base, the index key.
struct index_key {
  char bytes[8 + base_size];

  index_key(int64_t time, const base_key& base) noexcept {
    put_be64(bytes, static_cast<uint64_t>(time));
    std::memcpy(bytes + 8, base.data(), base.size());
  }

  MDB_val val() noexcept { return MDB_val{sizeof(bytes), bytes}; }
};

} // namespace

int alarm_get(MDB_txn* txn, alarm_dbs dbs, const base_key& base,
              std::optional<int64_t>& out) {
  out.reset();
  auto k = as_val(base);
  MDB_val v;
  auto rc = mdb_get(txn, dbs.alarms, &k, &v);
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  if (v.mv_size != 8)
    return MDB_CORRUPTED;
  out = static_cast<int64_t>(get_be64(static_cast<const char*>(v.mv_data)));
  return 0;
}

int alarm_set(MDB_txn* txn, alarm_dbs dbs, const base_key& base, int64_t time) {
  std::optional<int64_t> old;
  if (auto rc = alarm_get(txn, dbs, base, old))
    return rc;
  if (old == time)
    return 0;
  if (old) {
    index_key ik{*old, base};
    auto k = ik.val();
    auto rc = mdb_del(txn, dbs.index, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return rc;
  }
  char buf[8];
  put_be64(buf, static_cast<uint64_t>(time));
  auto k = as_val(base);
  MDB_val v{sizeof(buf), buf};
  if (auto rc = mdb_put(txn, dbs.alarms, &k, &v, 0))
    return rc;
  index_key ik{time, base};
  auto ikv = ik.val();
  MDB_val empty{0, nullptr};
  return mdb_put(txn, dbs.index, &ikv, &empty, 0);
}

int alarm_del(MDB_txn* txn, alarm_dbs dbs, const base_key& base) {
  std::optional<int64_t> old;
  if (auto rc = alarm_get(txn, dbs, base, old))
    return rc;
  if (!old)
    return 0;
  index_key ik{*old, base};
  auto ikv = ik.val();
  auto rc = mdb_del(txn, dbs.index, &ikv, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return rc;
  auto k = as_val(base);
  rc = mdb_del(txn, dbs.alarms, &k, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int alarm_scan(MDB_txn* txn, alarm_dbs dbs, int64_t until, size_t max,
               const alarm_entry* after, std::vector<alarm_entry>& out) {
  if (max == 0 || until <= 0)
    return 0;
  MDB_cursor* cursor = nullptr;
  if (auto rc = mdb_cursor_open(txn, dbs.index, &cursor))
    return rc;
  MDB_val k;
  MDB_val v;
  size_t taken = 0;
  int rc = 0;
  if (after != nullptr) {
    auto start = index_key{after->time,
                           make_base(after->namespace_number, after->object)};
    k = start.val();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    // SET_RANGE finds the first key >= start: skip start itself.
    if (rc == 0 && k.mv_size == sizeof(start.bytes) &&
        std::memcmp(k.mv_data, start.bytes, sizeof(start.bytes)) == 0)
      rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  } else {
    rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  }
  for (; rc == 0 && taken < max;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8 + base_size) {
      rc = MDB_CORRUPTED;
      break;
    }
    auto* bytes = static_cast<const char*>(k.mv_data);
    auto time = static_cast<int64_t>(get_be64(bytes));
    if (time > until)
      break;
    alarm_entry entry;
    entry.time = time;
    entry.namespace_number = static_cast<uint32_t>(get_be64(bytes + 8) >> 32);
    std::memcpy(entry.object.data(), bytes + 12, entry.object.size());
    out.push_back(entry);
    ++taken;
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

} // namespace durable::detail
