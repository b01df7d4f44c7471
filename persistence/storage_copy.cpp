// Consistent copies of environments for backups: LMDB's compacting copy,
// wrapped so that no LMDB type leaves the persistence layer.

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_file_check.hpp"
#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"
#include "lmdb_env.hpp"
#include "storage_engine_impl.hpp"

namespace durable {

namespace detail {

caf::error environment::copy_compacted(int fd) {
  for (int attempt = 0;; ++attempt) {
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
      return env_os_error(name(), "truncate", "backup file", errno);
    {
      // Held shared like any read: in a writing process, growing the map
      // needs every transaction of the process closed, the copy's included.
      shared_guard guard{resize_};
      auto rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
      if (rc == 0)
        return caf::none;
      // A writer in another process grew the map beyond ours (read-only
      // environment): adopt its size and copy again.
      if (rc != MDB_MAP_RESIZED || attempt > 0)
        return error("mdb_env_copyfd2 (compacting copy)", rc);
    }
    if (auto err = adopt_map_size())
      return err;
  }
}

} // namespace detail

caf::expected<uint64_t>
storage_engine::copy_environment(jurisdiction j, const std::string& path) {
  auto s = impl_->get(j, false);
  if (!s)
    return std::move(s.error());
  if (*s == nullptr) {
    std::string text = "no storage environment '";
    text += impl_->env_dir(j);
    text += "' to copy";
    return make_error(errc::invalid_argument, std::move(text));
  }
  auto& env = *(*s)->env;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return detail::env_os_error(env.name(), "create", path, errno);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  if (auto err = env.copy_compacted(fd))
    return err;
  if (::fsync(fd) != 0)
    return detail::env_os_error(env.name(), "sync", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return detail::env_os_error(env.name(), "stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

} // namespace durable
