#include "backup_io.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "durable/errc.hpp"

namespace durable::detail {

namespace {

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

std::string parent_of(const std::string& path) {
  auto trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/')
    trimmed.pop_back();
  auto slash = trimmed.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : trimmed.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/')
    trimmed.pop_back();
  auto slash = trimmed.find_last_of('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

// Hashes while copying, so that what a restore writes is what the manifest
// promised.
class sha256 {
public:
  sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      ctx_.reset();
  }
  bool ok() const { return ctx_ != nullptr; }
  void update(const char* data, size_t n) {
    if (ctx_ && EVP_DigestUpdate(ctx_.get(), data, n) != 1)
      ctx_.reset();
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!ctx_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1)
      return {};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 0xF];
    }
    return out;
  }

private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// Reads `fd` to its end, feeding `sink(data, n)` (false: stop with an
// error already set in `err`).
template <class Sink>
caf::error pump(int fd, const std::string& path, uint64_t& bytes, Sink sink) {
  std::vector<char> buf(size_t{1} << 20);
  bytes = 0;
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return backup_os_error("read", path, errno);
    if (n == 0)
      return caf::none;
    bytes += static_cast<uint64_t>(n);
    if (auto err = sink(buf.data(), static_cast<size_t>(n)))
      return err;
  }
}

caf::error write_all(int fd, const std::string& path, const char* data,
                     size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return backup_os_error("write", path, errno);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return caf::none;
}

caf::error hash_failure() {
  return make_error(errc::storage_failure, "backup: SHA-256 failed (OpenSSL)");
}

} // namespace

caf::error backup_os_error(const char* what, const std::string& path, int err) {
  return make_os_error("backup", what, path, err);
}

caf::error check_empty_target(const std::string& target, const char* role) {
  struct stat st;
  if (::stat(target.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return backup_os_error("stat", target, errno);
    auto parent = parent_of(target);
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return make_error(errc::invalid_argument,
                        std::string{role} + " '" + target +
                            "': its parent directory '" + parent +
                            "' does not exist");
    return caf::none;
  }
  auto refuse = [&](const char* why) {
    return make_error(errc::invalid_argument,
                      std::string{role} + " '" + target + "' " + why);
  };
  if (!S_ISDIR(st.st_mode))
    return refuse("exists and is not a directory");
  auto* dir = ::opendir(target.c_str());
  if (dir == nullptr)
    return backup_os_error("open directory", target, errno);
  bool empty = true;
  while (auto* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 &&
        std::strcmp(entry->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  if (!empty)
    return refuse("is not empty (nothing is ever written into a non-empty "
                  "directory: name a new or empty one)");
  return caf::none;
}

caf::expected<staging_dir> staging_dir::make(const std::string& target,
                                             const char* kind) {
  auto tmpl =
      parent_of(target) + "/." + base_of(target) + "." + kind + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    return backup_os_error("create directory", tmpl, errno);
  return staging_dir{buf.data(), target};
}

staging_dir::staging_dir(std::string path, std::string target)
    : path_(std::move(path)), target_(std::move(target)) {
  // nop
}

staging_dir::staging_dir(staging_dir&& other) noexcept
    : path_(std::move(other.path_)), target_(std::move(other.target_)) {
  other.path_.clear();
}

staging_dir::~staging_dir() {
  // Best effort: cleaning up after a failure must not hide the failure.
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

caf::error make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0)
    return backup_os_error("create directory", path, errno);
  return caf::none;
}

namespace {

// Opens the regular file `path` for reading (never blocking on a FIFO);
// its size in `size`.
caf::expected<int> open_regular(const std::string& path, uint64_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return backup_os_error("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto err = backup_os_error("stat", path, errno);
    ::close(fd);
    return err;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(errc::storage_failure,
                      "backup: '" + path + "' is not a regular file");
  }
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Reads `from` to its end and returns its SHA-256; with `out >= 0`, also
// writes what it reads there (`to` names it in errors).
caf::expected<std::string> hash_file(const std::string& from, int out,
                                     const std::string& to, uint64_t& bytes) {
  uint64_t size = 0;
  auto in = open_regular(from, size);
  if (!in)
    return std::move(in.error());
  fd_guard guard{*in};
  sha256 hash;
  auto err = pump(*in, from, bytes, [&](const char* data, size_t n) {
    hash.update(data, n);
    return out >= 0 ? write_all(out, to, data, n) : caf::error{};
  });
  if (err)
    return err;
  auto result = hash.hex();
  if (result.empty())
    return hash_failure();
  return result;
}

} // namespace

caf::expected<std::string> file_sha256(const std::string& path,
                                       uint64_t& bytes) {
  return hash_file(path, -1, {}, bytes);
}

caf::expected<std::string> copy_file(const std::string& from,
                                     const std::string& to, uint64_t& bytes) {
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0)
    return backup_os_error("create", to, errno);
  fd_guard guard{out};
  auto result = hash_file(from, out, to, bytes);
  if (result && ::fsync(out) != 0)
    return backup_os_error("sync", to, errno);
  return result;
}

caf::error write_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return backup_os_error("create", path, errno);
  fd_guard guard{fd};
  if (auto err = write_all(fd, path, content.data(), content.size()))
    return err;
  if (::fsync(fd) != 0)
    return backup_os_error("sync", path, errno);
  return caf::none;
}

caf::expected<std::string> read_small_file(const std::string& path,
                                           size_t max) {
  uint64_t size = 0;
  auto fd = open_regular(path, size);
  if (!fd)
    return std::move(fd.error());
  fd_guard guard{*fd};
  if (size > max)
    return make_error(errc::storage_failure,
                      "backup: '" + path + "' is larger than " +
                          std::to_string(max) + " bytes");
  std::string result;
  auto err = pump(*fd, path, size, [&](const char* data, size_t n) {
    if (result.size() + n > max)
      return make_error(errc::storage_failure,
                        "backup: '" + path + "' grew while being read");
    result.append(data, n);
    return caf::error{};
  });
  if (err)
    return err;
  return result;
}

caf::error sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return backup_os_error("open directory", dir, errno);
  fd_guard guard{fd};
  if (::fsync(fd) != 0)
    return backup_os_error("sync directory", dir, errno);
  return caf::none;
}

caf::error staging_dir::commit() {
  if (auto err = sync_dir(path_))
    return err;
  // rename(2) replaces an empty directory atomically and fails on a
  // non-empty one: a target filled meanwhile is never overwritten.
  if (::rename(path_.c_str(), target_.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST)
      return make_error(errc::invalid_argument,
                        "'" + target_ +
                            "' was filled by someone else meanwhile; "
                            "nothing was written into it");
    return backup_os_error("rename into place", target_, errno);
  }
  path_.clear();
  return sync_dir(parent_of(target_));
}

} // namespace durable::detail
