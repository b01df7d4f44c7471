#include "lmdb_env.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_file_check.hpp"
#include "durable/errc.hpp"
#include "kv_codec.hpp"

namespace durable::detail {

namespace {

// Written into `meta` when an environment is created; a different value
// means the files were written by an incompatible layout.
constexpr std::string_view format_key = "format";
constexpr std::string_view format_value = "caf-durable-kv/1";

} // namespace

caf::error lmdb_error(std::string_view env_name, const char* op, int rc) {
  std::string text;
  if (rc == MDB_MAP_FULL) {
    text = "storage full: environment \"";
    text += env_name;
    text += "\" reached its maximum map size";
    return make_error(errc::storage_full, std::move(text));
  }
  if (rc == MDB_READERS_FULL) {
    // Too many threads read at once: a slot frees as soon as one finishes.
    text = "storage busy: environment \"";
    text += env_name;
    text += "\" has no free reader slot (raise max_readers); retry later";
    return make_error(errc::unavailable, std::move(text));
  }
  text = "storage failure in environment \"";
  text += env_name;
  text += "\": ";
  text += op;
  text += ": ";
  text += rc == key_chain_exhausted ? "too many colliding long keys"
                                    : mdb_strerror(rc);
  return make_error(errc::storage_failure, std::move(text));
}

// -- resize_lock --------------------------------------------------------------

resize_lock::resize_lock() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

resize_lock::~resize_lock() {
  pthread_rwlock_destroy(&lock_);
}

// -- environment: constructors ------------------------------------------------

environment::environment(jurisdiction which, std::string dir)
    : which_(which), dir_(std::move(dir)) {
  // nop
}

environment::~environment() {
  for (auto* txn : readers_)
    mdb_txn_abort(txn);
  if (env_ != nullptr)
    mdb_env_close(env_);
  if (owner_fd_ >= 0)
    ::close(owner_fd_);
}

caf::expected<std::shared_ptr<environment>>
environment::open(jurisdiction which, std::string dir,
                  const storage_options& opts) {
  std::shared_ptr<environment> result{new environment(which, std::move(dir))};
  if (auto err = result->open_impl(opts))
    return err;
  return result;
}

caf::error environment::open_impl(const storage_options& opts) {
  max_map_size_ = opts.max_map_size;
  max_batch_bytes_ = opts.max_batch_bytes;
  read_only_ = opts.read_only;
  if (!read_only_) {
    if (::mkdir(dir_.c_str(), 0700) == 0) {
      // The new directory's entry in the data directory must survive a
      // crash like the files in it.
      auto slash = dir_.find_last_of('/');
      auto parent = slash == std::string::npos ? std::string{"."}
                    : slash == 0               ? std::string{"/"}
                                               : dir_.substr(0, slash);
      if (auto err = sync_directory(name(), parent))
        return err;
    } else if (errno != EEXIST) {
      return env_os_error(name(), "create directory", dir_, errno);
    }
  }
  // LMDB forbids opening one environment twice in a process (closing the
  // second descriptor would drop the first one's fcntl locks), and a second
  // process would run a second writer. An flock on a file of our own (never
  // on lock.mdb, see above) turns both mistakes into an error. Read-only
  // environments take no lock: LMDB supports readers in other processes
  // while one process writes (the admin tool inspects a running server).
  if (!read_only_) {
    auto owner_path = dir_ + "/owner.lock";
    owner_fd_ = ::open(owner_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (owner_fd_ < 0)
      return env_os_error(name(), "open", owner_path, errno);
    if (::flock(owner_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        std::string text = "storage environment '";
        text += dir_;
        text += "' is already open in another storage engine";
        return make_error(errc::unavailable, std::move(text));
      }
      return env_os_error(name(), "lock", owner_path, errno);
    }
  }
  // LMDB trusts the file: a truncated one faults (SIGBUS) on first access,
  // a damaged page when it is followed, and an empty one silently becomes a
  // new environment.
  auto walk = opts.check_data_file == data_file_check::full;
  if (auto err = check_data_file(name(), dir_, walk))
    return err;
  int rc = mdb_env_create(&env_);
  if (rc != 0)
    return error("mdb_env_create", rc);
  if ((rc = mdb_env_set_maxdbs(env_, 4)) != 0)
    return error("mdb_env_set_maxdbs", rc);
  if ((rc = mdb_env_set_maxreaders(env_, opts.max_readers)) != 0)
    return error("mdb_env_set_maxreaders", rc);
  if ((rc = mdb_env_set_mapsize(env_, opts.initial_map_size)) != 0)
    return error("mdb_env_set_mapsize", rc);
  // MDB_NOTLS: reads run on whatever CAF worker thread runs the object, and
  // pooled read transactions move between threads. Default sync mode: every
  // commit is fsync'd before the writer reports it.
  unsigned flags = MDB_NOTLS | (read_only_ ? MDB_RDONLY : 0u);
  if ((rc = mdb_env_open(env_, dir_.c_str(), flags, 0600)) != 0)
    return error("mdb_env_open", rc);
  // A process killed with -9 leaves its reader slots behind; free them so
  // they neither pin old pages nor exhaust the slot table.
  int dead = 0;
  if ((rc = mdb_reader_check(env_, &dead)) != 0)
    return error("mdb_reader_check", rc);
  if (mdb_env_get_maxkeysize(env_) < static_cast<int>(max_encoded_key_size))
    return make_error(errc::storage_failure,
                      "liblmdb was built with a maximum key size below the "
                      "one of the storage layout");
  MDB_envinfo info;
  if ((rc = mdb_env_info(env_, &info)) != 0)
    return error("mdb_env_info", rc);
  map_size_ = info.me_mapsize;
  if (read_only_)
    return open_databases_read_only();
  // Create the named databases and check the layout version. A full map
  // (reopening a full environment with a small initial size) grows here:
  // no other transaction exists yet.
  for (;;) {
    MDB_txn* txn = nullptr;
    if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0)
      return error("mdb_txn_begin", rc);
    auto fail = [&](const char* op, int code) {
      mdb_txn_abort(txn);
      return error(op, code);
    };
    if ((rc = mdb_dbi_open(txn, "kv", MDB_CREATE, &kv_)) != 0 ||
        (rc = mdb_dbi_open(txn, "alarms", MDB_CREATE, &alarms_)) != 0 ||
        (rc = mdb_dbi_open(txn, "alarm_index", MDB_CREATE, &alarm_index_)) !=
            0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_)) != 0)
      return fail("mdb_dbi_open", rc);
    auto key = as_val(format_key);
    MDB_val val;
    rc = mdb_get(txn, meta_, &key, &val);
    if (rc == 0) {
      std::string stored{static_cast<const char*>(val.mv_data), val.mv_size};
      // Commit, not abort: aborting would close the database handles opened
      // by this transaction.
      if ((rc = mdb_txn_commit(txn)) != 0)
        return error("mdb_txn_commit", rc);
      if (auto err = check_format(stored))
        return err;
      return mark_initialised();
    }
    if (rc != MDB_NOTFOUND)
      return fail("mdb_get", rc);
    val = as_val(format_value);
    if ((rc = mdb_put(txn, meta_, &key, &val, 0)) == 0)
      rc = mdb_txn_commit(txn);
    else
      mdb_txn_abort(txn);
    if (rc == 0)
      return mark_initialised();
    if (rc != MDB_MAP_FULL)
      return error("create databases", rc);
    auto grown = grow();
    if (!grown)
      return std::move(grown.error());
    if (!*grown)
      return error("create databases", rc);
  }
}

caf::error environment::open_databases_read_only() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0)
    return error("mdb_txn_begin", rc);
  if ((rc = mdb_dbi_open(txn, "kv", 0, &kv_)) != 0 ||
      (rc = mdb_dbi_open(txn, "alarms", 0, &alarms_)) != 0 ||
      (rc = mdb_dbi_open(txn, "alarm_index", 0, &alarm_index_)) != 0 ||
      (rc = mdb_dbi_open(txn, "meta", 0, &meta_)) != 0) {
    mdb_txn_abort(txn);
    return error("mdb_dbi_open", rc);
  }
  auto key = as_val(format_key);
  MDB_val val;
  rc = mdb_get(txn, meta_, &key, &val);
  std::string stored;
  if (rc == 0)
    stored.assign(static_cast<const char*>(val.mv_data), val.mv_size);
  // Commit keeps the database handles open (abort would close them).
  if (auto crc = mdb_txn_commit(txn); crc != 0)
    return error("mdb_txn_commit", crc);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return error("mdb_get", rc);
  return check_format(stored);
}

caf::error environment::mark_initialised() {
  auto path = dir_ + '/' + std::string{initialised_marker};
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    return caf::none;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return env_os_error(name(), "create", path, errno);
  ::close(fd);
  // One sync makes data.mdb, lock.mdb and the marker entries durable; the
  // marker is empty, its entry is all that counts.
  return sync_directory(name(), dir_);
}

caf::error environment::check_format(const std::string& stored) const {
  if (stored == format_value)
    return caf::none;
  std::string text = "storage environment '";
  text += dir_;
  text += "' has unsupported format \"";
  text += stored;
  text += '"';
  return make_error(errc::storage_failure, std::move(text));
}

caf::error environment::adopt_map_size() {
  std::lock_guard<resize_lock> guard{resize_};
  // Size 0: take the size the writing process recorded in the file.
  if (auto rc = mdb_env_set_mapsize(env_, 0))
    return error("mdb_env_set_mapsize", rc);
  MDB_envinfo info;
  if (auto rc = mdb_env_info(env_, &info))
    return error("mdb_env_info", rc);
  map_size_ = info.me_mapsize;
  return caf::none;
}

// -- environment: reading -----------------------------------------------------

int environment::acquire_reader(MDB_txn*& txn) {
  {
    std::lock_guard<std::mutex> guard{readers_mtx_};
    if (!readers_.empty()) {
      txn = readers_.back();
      readers_.pop_back();
    }
  }
  if (txn != nullptr) {
    if (auto rc = mdb_txn_renew(txn)) {
      mdb_txn_abort(txn);
      txn = nullptr;
      return rc;
    }
    return 0;
  }
  return mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
}

void environment::release_reader(MDB_txn* txn) noexcept {
  mdb_txn_reset(txn);
  try {
    std::lock_guard<std::mutex> guard{readers_mtx_};
    readers_.push_back(txn);
  } catch (...) {
    mdb_txn_abort(txn);
  }
}

// -- environment: writing -----------------------------------------------------

caf::expected<bool> environment::grow() {
  auto current = map_size();
  if (current >= max_map_size_)
    return false;
  auto next = current > max_map_size_ / 2 ? max_map_size_ : current * 2;
  std::lock_guard<resize_lock> guard{resize_};
  if (auto rc = mdb_env_set_mapsize(env_, next))
    return error("mdb_env_set_mapsize", rc);
  map_size_ = next;
  return true;
}

} // namespace durable::detail
