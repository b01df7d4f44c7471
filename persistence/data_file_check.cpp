// Checks of LMDB data files before they are mapped (layout: lmdb_layout.hpp).
// The pages the newer meta page leads to are walked by page_walk.cpp.

#include "data_file_check.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable/errc.hpp"
#include "lmdb_layout.hpp"

namespace durable::detail {

namespace {

using namespace lmdb_layout;

std::function<void(const std::string&)>& sync_hook() {
  static std::function<void(const std::string&)> hook;
  return hook;
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

struct meta_page {
  uint32_t page_size = 0;
  uint64_t last_pg = 0;
  uint64_t txnid = 0;
  tree_record free_tree;
  tree_record main_tree;
};

caf::error broken(std::string_view env_name, const std::string& path,
                  const std::string& why) {
  std::string text = "storage failure in environment \"";
  text += env_name;
  text += "\": data file '";
  text += path;
  text += "' ";
  text += why;
  text += " (restore it from a backup; the server does not start on it)";
  return make_error(errc::storage_failure, std::move(text));
}

// Reads the meta page at `offset`; false if it is not one.
bool read_meta(int fd, off_t offset, meta_page& out) {
  unsigned char buf[meta_bytes];
  size_t got = 0;
  while (got < sizeof(buf)) {
    auto n = ::pread(fd, buf + got, sizeof(buf) - got,
                     offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    got += static_cast<size_t>(n);
  }
  if ((load<uint16_t>(buf, flags_offset) & p_meta) == 0 ||
      load<uint32_t>(buf, magic_offset) != mdb_magic ||
      load<uint32_t>(buf, version_offset) != mdb_data_version)
    return false;
  out.page_size = load<uint32_t>(buf, psize_offset);
  out.last_pg = load<uint64_t>(buf, last_pg_offset);
  out.txnid = load<uint64_t>(buf, txnid_offset);
  out.free_tree = load_tree_record(buf + free_tree_offset);
  out.main_tree = load_tree_record(buf + main_tree_offset);
  return true;
}

// Reads both meta pages of the `size` bytes of `path` and picks the one
// LMDB uses; the file must hold the roots of its trees.
caf::error read_current_meta(std::string_view env_name, const std::string& path,
                             int fd, uint64_t size, meta_page& current) {
  meta_page first;
  if (!read_meta(fd, 0, first))
    return broken(env_name, path,
                  "has no valid LMDB meta page 0 (not an LMDB file, "
                  "overwritten, or truncated to " +
                      std::to_string(size) + " bytes)");
  auto psize = uint64_t{first.page_size};
  if (psize < min_page_size || psize > max_page_size ||
      (psize & (psize - 1)) != 0)
    return broken(env_name, path,
                  "records an invalid page size of " + std::to_string(psize));
  meta_page second;
  if (!read_meta(fd, static_cast<off_t>(psize), second) ||
      second.page_size != first.page_size)
    return broken(env_name, path,
                  "has no valid LMDB meta page 1 (overwritten, or truncated "
                  "to " +
                      std::to_string(size) + " bytes)");
  // LMDB uses the meta page with the higher transaction ID (page 0 on ties).
  current = second.txnid > first.txnid ? second : first;
  if (current.last_pg >= UINT64_MAX / psize - 1)
    return broken(env_name, path, "records an impossible last page");
  // The file may end before the last page: LMDB never writes a page freed
  // in the transaction that allocated it, and the highest page can be one.
  // Pages a tree reaches may not lie beyond the end: here the roots, and
  // the walk reads every other one.
  auto pages = size / psize;
  for (auto* tree : {&current.free_tree, &current.main_tree})
    if (tree->depth > 0 && tree->root >= pages)
      return broken(env_name, path,
                    "is truncated: it has " + std::to_string(pages) +
                        " pages of " + std::to_string(psize) +
                        " bytes, but the root of its " +
                        (tree == &current.free_tree ? "free-page" : "main") +
                        " tree is page " + std::to_string(tree->root));
  return caf::none;
}

} // namespace

caf::error env_os_error(std::string_view env_name, const char* what,
                        const std::string& path, int err) {
  std::string context = "storage failure in environment \"";
  context += env_name;
  context += '"';
  return make_os_error(context, what, path, err);
}

caf::error check_data_file(std::string_view env_name, const std::string& dir,
                           bool walk, const page_visitor& visit) {
  auto path = dir + "/data.mdb";
  struct stat marker;
  auto marker_path = dir + '/' + std::string{initialised_marker};
  bool initialised = ::stat(marker_path.c_str(), &marker) == 0;
  if (!initialised && errno != ENOENT)
    return env_os_error(env_name, "stat", marker_path, errno);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT && !initialised)
      return caf::none;
    if (errno == ENOENT)
      return broken(env_name, path,
                    "is missing although the environment was "
                    "initialised before");
    return env_os_error(env_name, "open", path, errno);
  }
  fd_guard guard{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return env_os_error(env_name, "stat", path, errno);
  if (!S_ISREG(st.st_mode))
    return broken(env_name, path, "is not a regular file");
  auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0)
    return initialised ? broken(env_name, path,
                                "is empty although the environment was "
                                "initialised before")
                       : caf::none;
  meta_page current;
  if (auto err = read_current_meta(env_name, path, fd, size, current))
    return err;
  if (!walk)
    return caf::none;
  // Without a lock, a writer in another process (a read-only open beside a
  // running server) may reuse pages of the walked snapshot once it has
  // committed newer transactions, so a failed walk only counts if no newer
  // transaction was committed meanwhile; otherwise it is repeated on the
  // newest one. A file that a live writer keeps changing under every walk
  // is left to LMDB, whose reader slot pins a consistent snapshot (the
  // writer, which holds the file, would have met the damage first). An
  // environment opened for writing is locked: nothing changes it here.
  for (int attempt = 0;; ++attempt) {
    walk_input in{fd, current.page_size, current.last_pg, current.free_tree,
                  current.main_tree};
    auto damage = walk_data_file(in, visit);
    if (!damage)
      return caf::none;
    meta_page now;
    if (::fstat(fd, &st) != 0 ||
        read_current_meta(env_name, path, fd, static_cast<uint64_t>(st.st_size),
                          now) ||
        now.txnid == current.txnid)
      return broken(env_name, path, *damage);
    if (attempt == 3)
      return caf::none;
    current = now;
  }
}

caf::error sync_directory(std::string_view env_name, const std::string& dir) {
  if (auto& hook = sync_hook())
    hook(dir);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return env_os_error(env_name, "open directory", dir, errno);
  fd_guard guard{fd};
  if (::fsync(fd) != 0)
    return env_os_error(env_name, "sync directory", dir, errno);
  return caf::none;
}

void set_sync_directory_hook(std::function<void(const std::string&)> hook) {
  sync_hook() = std::move(hook);
}

} // namespace durable::detail
