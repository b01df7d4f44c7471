// Fuzzes the key codec of the `kv` database (persistence/kv_codec): put,
// get, delete, clear and range scans of user keys up to and beyond 2048
// bytes, for two objects side by side, on a real LMDB environment, against a
// std::map model. Long keys share their stored prefix often (keys of one
// fill byte) and the long-key hash can be narrowed so that chains collide.
// list() options go through list_range as object_storage::list does; the
// model applies start/startAfter/end/prefix/reverse/limit by their
// definitions (list_options.hpp), so a wrong bound translation shows too.
// Every write transaction is aborted at the end of the input.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <lmdb.h>
#include <unistd.h>

#include "durable/list_options.hpp"
#include "durable/storage_types.hpp"
#include "fuzz_input.hpp"
#include "kv_codec.hpp"
#include "storage_checks.hpp"

namespace {

using namespace durable;
using namespace durable::detail;
using model = std::map<std::string, std::string>;

struct environment {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;

  environment() {
    auto dir = std::filesystem::temp_directory_path() /
               ("durable-fuzz-kv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    FUZZ_CHECK(mdb_env_create(&env) == 0, "mdb_env_create");
    FUZZ_CHECK(mdb_env_set_mapsize(env, size_t{1} << 30) == 0, "mapsize");
    FUZZ_CHECK(mdb_env_set_maxdbs(env, 4) == 0, "maxdbs");
    FUZZ_CHECK(
        mdb_env_open(env, dir.c_str(), MDB_NOSYNC | MDB_NOMETASYNC, 0600) == 0,
        "mdb_env_open");
    FUZZ_CHECK(static_cast<size_t>(mdb_env_get_maxkeysize(env)) >=
                   max_encoded_key_size,
               "encoded keys exceed LMDB's key size");
    MDB_txn* txn = nullptr;
    FUZZ_CHECK(mdb_txn_begin(env, nullptr, 0, &txn) == 0, "txn");
    FUZZ_CHECK(mdb_dbi_open(txn, "kv", MDB_CREATE, &dbi) == 0, "dbi");
    FUZZ_CHECK(mdb_txn_commit(txn) == 0, "commit");
    // Nothing is ever committed after this, so the files stay tiny; remove
    // them now (the open handle keeps them alive).
    std::filesystem::remove_all(dir);
  }
};

environment& env() {
  static environment e;
  return e;
}

// Keys of a few shapes: arbitrary short ones, long ones made of one fill
// byte with an arbitrary end (so that many share their first 448 bytes),
// ones around the 448-byte boundary, and variants of earlier keys.
std::string make_key(durable::fuzz::input& in, std::vector<std::string>& pool) {
  std::string key;
  switch (in.byte() % 5) {
  case 0:
    key = in.short_string();
    break;
  case 1:
  case 2: {
    size_t size = in.byte() % 2 == 0 ? direct_key_max - 8 + in.byte() % 16
                                     : in.u16() % 2200;
    key.assign(size, static_cast<char>(in.byte()));
    auto end = in.bytes(in.byte() % 8);
    auto from = size - std::min(size, end.size());
    for (size_t i = 0; from + i < size; ++i)
      key[from + i] = end[i];
    break;
  }
  default:
    if (pool.empty())
      return key;
    key = pool[in.byte() % pool.size()];
    switch (in.byte() % 3) {
    case 0:
      key.push_back(static_cast<char>(in.byte()));
      break;
    case 1:
      key.resize(key.size() - std::min<size_t>(key.size(), in.byte()));
      break;
    default:
      if (!key.empty())
        key[in.u16() % key.size()] = static_cast<char>(in.byte());
    }
  }
  if (pool.size() < 64)
    pool.push_back(key);
  return key;
}

std::optional<std::string> maybe_key(durable::fuzz::input& in,
                                     std::vector<std::string>& pool) {
  if (!in.flag())
    return std::nullopt;
  return make_key(in, pool);
}

bool starts_with_(const std::string& x, const std::string& p) {
  return x.compare(0, p.size(), p) == 0;
}

// The result of `opts` on `m`, straight from list_options' definitions.
std::vector<std::pair<std::string, std::string>>
model_list(const model& m, const list_options& opts) {
  std::vector<std::pair<std::string, std::string>> result;
  for (auto& [k, v] : m) {
    if ((opts.start && k < *opts.start) ||
        (opts.start_after && k <= *opts.start_after) ||
        (opts.end && k >= *opts.end) ||
        (opts.prefix && !starts_with_(k, *opts.prefix)))
      continue;
    result.emplace_back(k, v);
  }
  if (opts.reverse)
    std::reverse(result.begin(), result.end());
  if (opts.limit && result.size() > static_cast<size_t>(*opts.limit))
    result.resize(static_cast<size_t>(*opts.limit));
  return result;
}

void check_list(MDB_txn* txn, const base_key& base, const model& m,
                durable::fuzz::input& in, std::vector<std::string>& pool) {
  list_options opts;
  opts.start = maybe_key(in, pool);
  opts.start_after = maybe_key(in, pool);
  opts.end = maybe_key(in, pool);
  opts.prefix = maybe_key(in, pool);
  opts.reverse = in.flag();
  if (in.flag())
    opts.limit = static_cast<int8_t>(in.byte());
  std::optional<std::string> lo;
  std::optional<std::string> hi;
  auto err = list_range(opts, lo, hi);
  auto bad =
      (opts.start && opts.start_after) || (opts.limit && *opts.limit <= 0);
  FUZZ_CHECK(static_cast<bool>(err) == bad, "list options check is wrong");
  if (err)
    return;
  auto expected = model_list(m, opts);
  if (lo && hi && *lo >= *hi) {
    // object_storage::list answers an empty range without a scan.
    FUZZ_CHECK(expected.empty(), "empty range holds keys in the model");
    return;
  }
  std::vector<std::pair<std::string, std::string>> got;
  std::optional<std::string_view> lo_view;
  std::optional<std::string_view> hi_view;
  if (lo)
    lo_view = *lo;
  if (hi)
    hi_view = *hi;
  auto limit = opts.limit ? static_cast<size_t>(*opts.limit) : size_t{1} << 20;
  kv_scanner scan{txn, env().dbi, base, lo_view, hi_view, opts.reverse};
  for (;;) {
    bool found = false;
    std::string key;
    std::string_view value;
    FUZZ_CHECK(scan.next(found, key, value) == 0, "scan failed");
    if (!found || got.size() == limit)
      break;
    got.emplace_back(key, std::string{value});
    FUZZ_CHECK(got.size() <= m.size(), "scan yields more keys than exist");
  }
  FUZZ_CHECK(got.size() == expected.size(), "list size differs from the model");
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(got[i].first == expected[i].first,
               "list key differs from the model at " + std::to_string(i));
    FUZZ_CHECK(got[i].second == expected[i].second,
               "list value differs from the model");
  }
}

// Every stored entry of the object lies within the layout's key sizes.
void check_layout(MDB_txn* txn, const base_key& base, size_t expected) {
  MDB_cursor* cur = nullptr;
  FUZZ_CHECK(mdb_cursor_open(txn, env().dbi, &cur) == 0, "cursor");
  std::string_view b{base.data(), base.size()};
  MDB_val k = as_val(b);
  MDB_val v;
  size_t n = 0;
  for (auto rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    auto key = as_view(k);
    if (!starts_with(key, b))
      break;
    auto user = key.size() - base_size;
    FUZZ_CHECK(user <= direct_key_max || user == long_key_size,
               "stored key of an unexpected size");
    ++n;
  }
  mdb_cursor_close(cur);
  FUZZ_CHECK(n == expected, "stored entries differ from the model's count");
}

base_key pick_base(uint8_t x) {
  object_bytes id;
  id.fill(x & 0x10 ? 0xFF : 0x00);
  id[31] = static_cast<uint8_t>(x & 0x0F);
  uint32_t ns = (x & 0x20) ? 0xFFFFFFFFu : (x & 0x40 ? 1 : 0);
  return make_base(ns, id);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  durable::fuzz::input in{data, size};
  auto& e = env();
  // Narrow hashes make every long key of one stored prefix share a chain.
  static constexpr uint64_t masks[] = {~uint64_t{0}, 0, 1, 3, 0xFF};
  set_key_hash_mask_for_testing(masks[in.byte() % 5]);
  base_key bases[2] = {pick_base(in.byte()), pick_base(in.byte())};
  if (bases[0] == bases[1])
    bases[1] = make_base(7, {});
  model models[2];
  std::vector<std::string> pool;
  MDB_txn* txn = nullptr;
  FUZZ_CHECK(mdb_txn_begin(e.env, nullptr, 0, &txn) == 0, "txn");
  std::string scratch;
  for (int ops = 0; ops < 200 && !in.empty(); ++ops) {
    auto op = in.byte();
    auto obj = (op >> 4) & 1;
    auto& base = bases[obj];
    auto& m = models[obj];
    switch (op % 8) {
    case 0:
    case 1:
    case 2: {
      auto key = make_key(in, pool);
      auto value = std::string{in.short_string()};
      auto err = check_key(key);
      FUZZ_CHECK(static_cast<bool>(err) ==
                     (key.size() > storage_limits::max_key_size),
                 "key size check is wrong");
      if (err)
        break;
      FUZZ_CHECK(kv_put(txn, e.dbi, base, key, value, scratch) == 0, "put");
      m[key] = value;
      break;
    }
    case 3: {
      auto key = make_key(in, pool);
      if (key.size() > storage_limits::max_key_size)
        break;
      FUZZ_CHECK(kv_del(txn, e.dbi, base, key, scratch) == 0, "del");
      m.erase(key);
      break;
    }
    case 4: {
      auto key = make_key(in, pool);
      if (key.size() > storage_limits::max_key_size)
        break;
      std::optional<std::string_view> value;
      FUZZ_CHECK(kv_get(txn, e.dbi, base, key, scratch, value) == 0, "get");
      auto i = m.find(key);
      FUZZ_CHECK(value.has_value() == (i != m.end()),
                 "get: presence differs from the model");
      if (value)
        FUZZ_CHECK(*value == i->second, "get: value differs from the model");
      break;
    }
    case 5:
      if (in.byte() % 4 == 0) {
        // In chunks of 1..16 keys, as delete_all runs over several rounds.
        auto chunk = size_t{1} + in.byte() % 16;
        size_t removed = 0;
        size_t total = 0;
        bool done = false;
        while (!done) {
          FUZZ_CHECK(kv_clear_some(txn, e.dbi, base, chunk, removed, done) == 0,
                     "clear");
          FUZZ_CHECK(removed <= chunk, "clear: removed more than its chunk");
          total += removed;
        }
        FUZZ_CHECK(total == m.size(), "clear: removed count differs");
        m.clear();
        break;
      }
      [[fallthrough]];
    default:
      check_list(txn, base, m, in, pool);
    }
  }
  // Both objects in full, both directions: order and isolation.
  for (int obj = 0; obj < 2; ++obj) {
    // Option bytes: no bounds, then ascending / descending, no limit.
    static constexpr uint8_t ascending[] = {0, 0, 0, 0, 0, 0};
    static constexpr uint8_t descending[] = {0, 0, 0, 0, 1, 0};
    for (auto* opts : {ascending, descending}) {
      durable::fuzz::input all{opts, sizeof(ascending)};
      check_list(txn, bases[obj], models[obj], all, pool);
    }
    check_layout(txn, bases[obj], models[obj].size());
  }
  mdb_txn_abort(txn);
  return 0;
}
