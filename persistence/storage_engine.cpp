#include "durable/storage_engine.hpp"

#include <array>
#include <atomic>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "alarm_store.hpp"
#include "durable/errc.hpp"
#include "lmdb_env.hpp"
#include "storage_engine_impl.hpp"
#include "write_set_data.hpp"

namespace durable {

namespace {

// Namespace keys are stored as LMDB keys in `meta` (prefix + key).
constexpr size_t max_namespace_key_size = 400;

constexpr size_t page_size = 4096;

size_t round_to_page(size_t x) {
  if (x > std::numeric_limits<size_t>::max() - page_size)
    return x - x % page_size;
  return (x + page_size - 1) / page_size * page_size;
}

constexpr std::array<jurisdiction, 5> all_jurisdictions{
    jurisdiction::none, jurisdiction::eu, jurisdiction::fedramp,
    jurisdiction::fedramp_high, jurisdiction::us};

} // namespace

namespace detail {

std::string be32(uint32_t x) {
  std::string result(4, '\0');
  result[0] = static_cast<char>((x >> 24) & 0xFF);
  result[1] = static_cast<char>((x >> 16) & 0xFF);
  result[2] = static_cast<char>((x >> 8) & 0xFF);
  result[3] = static_cast<char>(x & 0xFF);
  return result;
}

bool parse_be32(std::string_view x, uint32_t& out) {
  if (x.size() != 4)
    return false;
  out = 0;
  for (auto c : x)
    out = (out << 8) | static_cast<uint8_t>(c);
  return true;
}

caf::error read_only_error() {
  return make_error(errc::unavailable,
                    "the storage engine is read-only: writes need a data "
                    "directory no other process has open");
}

} // namespace detail

using detail::be32;
using detail::ns_next_key;
using detail::ns_prefix;
using detail::parse_be32;

// -- impl ---------------------------------------------------------------------

std::string storage_engine::impl::env_dir(jurisdiction j) const {
  std::string result = opts.data_dir;
  result += '/';
  result += storage_name(j);
  return result;
}

bool storage_engine::impl::env_exists(jurisdiction j) const {
  std::error_code ec;
  return std::filesystem::exists(env_dir(j) + "/data.mdb", ec);
}

caf::expected<storage_engine::impl::slot*>
storage_engine::impl::get(jurisdiction j, bool create) {
  std::lock_guard<std::mutex> guard{mtx};
  auto& s = slots[static_cast<uint8_t>(j) & 7];
  if (s.env)
    return &s;
  if (stopped)
    return make_error(errc::unavailable, "the storage engine is shut down");
  if ((!create || opts.read_only) && !env_exists(j))
    return nullptr;
  auto env = detail::environment::open(j, env_dir(j), opts);
  if (!env)
    return std::move(env.error());
  // Objects whose delete_all a crash interrupted read as empty from now on;
  // the writer finishes deleting them.
  std::vector<detail::base_key> clearing;
  auto err = (*env)->read("load clear markers", [&](MDB_txn* txn) {
    clearing.clear();
    return detail::load_clear_markers(txn, (*env)->meta(), clearing);
  });
  if (err)
    return err;
  for (auto& base : clearing)
    (*env)->clearing().insert(base);
  s.env = std::move(*env);
  if (!opts.read_only) {
    s.writer = std::make_unique<commit_writer>(s.env, opts.delete_chunk_keys);
    writers[static_cast<uint8_t>(j) & 7].store(s.writer.get(),
                                               std::memory_order_release);
  }
  return &s;
}

caf::expected<storage_engine::impl::slot*>
storage_engine::impl::require(jurisdiction j) {
  auto s = get(j, true);
  if (s && *s == nullptr) {
    std::string text = "no storage environment '";
    text += env_dir(j);
    text += "' (read-only engines do not create environments)";
    return make_error(errc::unavailable, std::move(text));
  }
  return s;
}

// -- constructors, destructors, and assignment operators ----------------------

storage_engine::storage_engine(storage_options opts)
    : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
}

storage_engine::~storage_engine() {
  shutdown();
}

caf::expected<std::unique_ptr<storage_engine>>
storage_engine::open(storage_options opts) {
  if (opts.data_dir.empty())
    return make_error(errc::invalid_argument,
                      "storage options: data_dir must not be empty");
  if (opts.max_readers == 0)
    return make_error(errc::invalid_argument,
                      "storage options: max_readers must be positive");
  opts.max_map_size = round_to_page(std::max(opts.max_map_size, page_size));
  opts.initial_map_size = round_to_page(
      std::min(std::max(opts.initial_map_size, page_size), opts.max_map_size));
  if (opts.max_batch_bytes == 0)
    opts.max_batch_bytes = 1;
  if (opts.delete_chunk_keys == 0)
    opts.delete_chunk_keys = 1;
  std::error_code ec;
  if (opts.read_only) {
    if (!std::filesystem::is_directory(opts.data_dir, ec)) {
      std::string text = "no data directory '";
      text += opts.data_dir;
      text += '\'';
      return make_error(errc::invalid_argument, std::move(text));
    }
    return std::unique_ptr<storage_engine>{new storage_engine(std::move(opts))};
  }
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec) {
    std::string text = "cannot create data directory '";
    text += opts.data_dir;
    text += "': ";
    text += ec.message();
    return make_error(errc::storage_failure, std::move(text));
  }
  return std::unique_ptr<storage_engine>{new storage_engine(std::move(opts))};
}

// -- properties ---------------------------------------------------------------

const storage_options& storage_engine::options() const noexcept {
  return impl_->opts;
}

std::vector<jurisdiction> storage_engine::existing_jurisdictions() const {
  std::vector<jurisdiction> result;
  for (auto j : all_jurisdictions)
    if (impl_->env_exists(j))
      result.push_back(j);
  return result;
}

caf::expected<size_t> storage_engine::map_size(jurisdiction j) {
  auto s = impl_->require(j);
  if (!s)
    return std::move(s.error());
  return (*s)->env->map_size();
}

// -- namespaces ---------------------------------------------------------------

caf::expected<uint32_t>
storage_engine::namespace_number(jurisdiction j,
                                 std::string_view namespace_key) {
  if (namespace_key.size() > max_namespace_key_size)
    return make_error(errc::invalid_argument,
                      "namespace keys cannot be larger than 400 bytes");
  auto s = impl_->require(j);
  if (!s)
    return std::move(s.error());
  auto& env = *(*s)->env;
  std::lock_guard<std::mutex> guard{impl_->ns_mtx};
  auto cache_key =
      std::make_pair(static_cast<uint8_t>(j), std::string{namespace_key});
  if (auto i = impl_->ns_cache.find(cache_key); i != impl_->ns_cache.end())
    return i->second;
  std::string meta_key{ns_prefix};
  meta_key += namespace_key;
  std::optional<uint32_t> found;
  uint32_t next = 1;
  auto err = env.read("namespace_number", [&](MDB_txn* txn) {
    MDB_val k{meta_key.size(), meta_key.data()};
    MDB_val v;
    auto rc = mdb_get(txn, env.meta(), &k, &v);
    if (rc == 0) {
      uint32_t nr = 0;
      if (!parse_be32({static_cast<const char*>(v.mv_data), v.mv_size}, nr))
        return MDB_CORRUPTED;
      found = nr;
      return 0;
    }
    if (rc != MDB_NOTFOUND)
      return rc;
    MDB_val nk{ns_next_key.size(), const_cast<char*>(ns_next_key.data())};
    rc = mdb_get(txn, env.meta(), &nk, &v);
    if (rc == MDB_NOTFOUND)
      return 0;
    if (rc != 0)
      return rc;
    if (!parse_be32({static_cast<const char*>(v.mv_data), v.mv_size}, next))
      return MDB_CORRUPTED;
    return 0;
  });
  if (err)
    return err;
  if (!found) {
    if (impl_->opts.read_only)
      return detail::read_only_error();
    if (next == std::numeric_limits<uint32_t>::max())
      return make_error(errc::storage_full, "storage full: no namespace "
                                            "numbers left");
    // Commit through the writer: it is the only thread that writes (LMDB
    // with MDB_NOTLS wants writes serialized in one OS thread) and the only
    // one that may grow the map.
    auto data = std::make_shared<detail::write_set_data>();
    data->env = (*s)->env;
    data->meta_puts.emplace_back(meta_key, be32(next));
    data->meta_puts.emplace_back(std::string{ns_next_key}, be32(next + 1));
    data->byte_size = meta_key.size() + 16;
    std::promise<caf::error> done;
    auto result = done.get_future();
    (*s)->writer->submit(write_set{std::move(data)},
                         [&done](const caf::error& e) { done.set_value(e); });
    if (auto commit_err = result.get())
      return commit_err;
    found = next;
  }
  impl_->ns_cache.emplace(std::move(cache_key), *found);
  return *found;
}

// -- objects ------------------------------------------------------------------

caf::expected<object_storage>
storage_engine::open_object(jurisdiction j, uint32_t ns,
                            const object_bytes& id) {
  auto s = impl_->require(j);
  if (!s)
    return std::move(s.error());
  return object_storage{(*s)->env, ns, id};
}

void storage_engine::submit(write_set ws, commit_writer::completion done) {
  if (ws.empty()) {
    if (done)
      done(caf::none);
    return;
  }
  auto code = static_cast<uint8_t>(ws.data()->env->which()) & 7;
  if (auto* w = impl_->writers[code].load(std::memory_order_acquire)) {
    w->submit(std::move(ws), std::move(done));
    return;
  }
  commit_writer::refuse(std::move(ws), std::move(done),
                        impl_->opts.read_only
                            ? detail::read_only_error()
                            : make_error(errc::invalid_argument,
                                         "write set of an environment this "
                                         "engine did not open"));
}

caf::expected<commit_writer*> storage_engine::writer(jurisdiction j) {
  if (impl_->opts.read_only)
    return detail::read_only_error();
  auto s = impl_->require(j);
  if (!s)
    return std::move(s.error());
  return (*s)->writer.get();
}

std::vector<const commit_writer*> storage_engine::open_writers() const {
  std::vector<const commit_writer*> result;
  for (auto& w : impl_->writers)
    if (auto* ptr = w.load(std::memory_order_acquire))
      result.push_back(ptr);
  return result;
}

caf::error storage_engine::flush() {
  caf::error result;
  for (auto& w : impl_->writers)
    if (auto* ptr = w.load(std::memory_order_acquire))
      if (auto err = ptr->flush(); err && !result)
        result = std::move(err);
  return result;
}

// -- alarms -------------------------------------------------------------------

caf::expected<std::vector<alarm_entry>>
storage_engine::due_alarms(jurisdiction j, int64_t until_ms, size_t max,
                           const std::optional<alarm_entry>& after) {
  return impl_->read<std::vector<alarm_entry>>(
      j, "due_alarms", [&](MDB_txn* txn, auto& env, auto& result) {
        return detail::alarm_scan(txn, {env.alarms(), env.alarm_index()},
                                  until_ms, max, after ? &*after : nullptr,
                                  result);
      });
}

caf::expected<std::vector<alarm_entry>>
storage_engine::all_alarms(jurisdiction j) {
  return due_alarms(j, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<size_t>::max());
}

caf::expected<std::optional<int64_t>>
storage_engine::next_alarm_time(jurisdiction j) {
  auto xs = due_alarms(j, std::numeric_limits<int64_t>::max(), 1);
  if (!xs)
    return std::move(xs.error());
  if (xs->empty())
    return std::optional<int64_t>{};
  return std::optional<int64_t>{xs->front().time};
}

// -- shutdown -----------------------------------------------------------------

void storage_engine::shutdown() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopped = true;
  }
  for (auto& s : impl_->slots)
    if (s.writer)
      s.writer->stop();
}

} // namespace durable
