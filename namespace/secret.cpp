#include "durable/secret.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "durable/errc.hpp"
#include "durable/object_id.hpp"

namespace durable {

namespace {

// Wipes a local copy of the secret when leaving scope, on every path.
struct wipe_guard {
  deployment_secret::bytes_type& bytes;
  ~wipe_guard() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// Closes a file descriptor when leaving scope.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

caf::error os_error(const char* what, const std::string& path, int err) {
  return make_os_error("deployment secret", what, path, err);
}

caf::error bad_file(const std::string& path, const char* why) {
  std::string text = "deployment secret file '";
  text += path;
  text += "' ";
  text += why;
  return make_error(errc::invalid_argument, std::move(text));
}

std::string parent_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos)
    return ".";
  if (pos == 0)
    return "/";
  return path.substr(0, pos);
}

// Makes a new directory entry durable.
caf::error sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return os_error("open directory", dir, errno);
  fd_guard guard{fd};
  if (::fsync(fd) != 0)
    return os_error("sync directory", dir, errno);
  return caf::none;
}

// Creates `dir` and its missing parents with mode 0700 (like `mkdir -p`).
caf::error make_dirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return os_error("use as directory", dir, ENOTDIR);
    return caf::none;
  }
  if (errno != ENOENT)
    return os_error("access directory", dir, errno);
  auto parent = parent_of(dir);
  if (parent != dir)
    if (auto err = make_dirs(parent))
      return err;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return os_error("create directory", dir, errno);
  return sync_dir(parent);
}

caf::error read_all(int fd, uint8_t* buf, size_t n, const std::string& path) {
  while (n > 0) {
    auto got = ::read(fd, buf, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return os_error("read", path, errno);
    if (got == 0)
      return bad_file(path, "must contain exactly 32 bytes");
    buf += got;
    n -= static_cast<size_t>(got);
  }
  return caf::none;
}

caf::error write_all(int fd, const uint8_t* buf, size_t n,
                     const std::string& path) {
  while (n > 0) {
    auto put = ::write(fd, buf, n);
    if (put < 0 && errno == EINTR)
      continue;
    if (put < 0)
      return os_error("write", path, errno);
    buf += put;
    n -= static_cast<size_t>(put);
  }
  return caf::none;
}

caf::error read_secret(int fd, const std::string& path,
                       deployment_secret::bytes_type& out) {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return os_error("stat", path, errno);
  if (!S_ISREG(st.st_mode))
    return bad_file(path, "is not a regular file");
  // Anyone who can read the secret can forge IDs for every namespace.
  if ((st.st_mode & 077) != 0)
    return bad_file(path, "may be accessed by group or others "
                          "(expected mode 0600)");
  if (st.st_size != static_cast<off_t>(deployment_secret::size))
    return bad_file(path, "must contain exactly 32 bytes");
  return read_all(fd, out.data(), out.size(), path);
}

// Writes fresh random bytes to a temporary file and hard-links it into place:
// `path` never holds a partial secret, and a concurrent creator wins cleanly
// (link fails with EEXIST instead of overwriting).
caf::error create_secret(const std::string& path) {
  auto dir = parent_of(path);
  if (auto err = make_dirs(dir))
    return err;
  auto tmp = path + ".tmp.XXXXXX";
  // mkostemp creates the file exclusively with mode 0600.
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0)
    return os_error("create", tmp, errno);
  deployment_secret::bytes_type bytes;
  wipe_guard wipe{bytes};
  auto err = [&]() -> caf::error {
    fd_guard guard{fd};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
      return make_error(errc::unavailable,
                        "deployment secret: the CSPRNG failed");
    if (auto err = write_all(fd, bytes.data(), bytes.size(), tmp))
      return err;
    if (::fsync(fd) != 0)
      return os_error("sync", tmp, errno);
    if (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)
      return os_error("create", path, errno);
    return caf::none;
  }();
  ::unlink(tmp.c_str());
  if (err)
    return err;
  return sync_dir(dir);
}

} // namespace

// -- constructors, destructors, and assignment operators ----------------------

deployment_secret::deployment_secret(const bytes_type& bytes) noexcept
    : bytes_(bytes) {
  // nop
}

deployment_secret::~deployment_secret() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

// -- factories ----------------------------------------------------------------

caf::expected<deployment_secret>
deployment_secret::load_or_create(const std::string& path) {
  if (path.empty())
    return make_error(errc::invalid_argument,
                      "deployment secret: the file path is empty");
  // Two rounds: the second reads back the file just created (by us or by a
  // concurrent process that won the race).
  for (int round = 0; round < 2; ++round) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; read_secret
    // then refuses anything but a regular file (where the flag is moot).
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
      fd_guard guard{fd};
      bytes_type bytes;
      wipe_guard wipe{bytes};
      if (auto err = read_secret(fd, path, bytes))
        return err;
      return deployment_secret{bytes};
    }
    if (errno != ENOENT)
      return os_error("open", path, errno);
    if (auto err = create_secret(path))
      return err;
  }
  return os_error("open", path, ENOENT);
}

caf::expected<deployment_secret>
deployment_secret::from_hex(std::string_view hex64) {
  bytes_type bytes;
  wipe_guard wipe{bytes};
  if (!parse_hex_id(hex64, bytes))
    return make_error(errc::invalid_argument,
                      "deployment secret must be 64 hex digits");
  return deployment_secret{bytes};
}

deployment_secret
deployment_secret::from_bytes(const bytes_type& bytes) noexcept {
  return deployment_secret{bytes};
}

} // namespace durable

namespace durable {

deployment_secret::bytes_type
deployment_secret::derive(std::string_view purpose) const {
  bytes_type result{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), bytes_.data(), static_cast<int>(bytes_.size()),
       reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(),
       result.data(), &size);
  return result;
}

} // namespace durable
