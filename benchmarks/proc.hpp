#pragma once

// Process-level helpers of the load benchmarks: memory figures read from
// /proc/self/status, measurements in a forked child (a fresh heap and a fresh
// peak RSS per run), percentiles, and reading one figure back from an earlier
// benchmark's JSON.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// One field of /proc/self/status in bytes (`VmRSS`, `VmHWM`, `RssAnon`,
/// `RssFile`, ...), or -1 if absent.
inline double proc_status_bytes(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  auto len = std::strlen(field);
  double result = -1;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      result = std::atof(line + len + 1) * 1024.0; // the kernel writes kB
      break;
    }
  }
  std::fclose(f);
  return result;
}

/// Resident set size of this process in bytes.
inline double rss_bytes() {
  return proc_status_bytes("VmRSS");
}

/// Peak resident set size (since start or `reset_peak_rss`) in bytes.
inline double peak_rss_bytes() {
  return proc_status_bytes("VmHWM");
}

/// Resets the kernel's peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
inline bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f)
    return false;
  bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

/// CPU time (user + system, all threads) of process `pid` (0: this one)
/// in seconds, or -1 if unknown.
inline double cpu_seconds(pid_t pid = 0) {
  auto path = pid == 0 ? std::string{"/proc/self/stat"}
                       : "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto paren = text.rfind(')');
  if (paren == std::string::npos)
    return -1;
  // After the command: state is field 3; utime and stime are 14 and 15.
  std::istringstream fields{text.substr(paren + 2)};
  std::string x;
  double ticks = 0;
  for (int field = 3; field <= 15 && fields >> x; ++field)
    if (field >= 14)
      ticks += std::atof(x.c_str());
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

constexpr double mib = 1024.0 * 1024.0;

/// Runs `fn` in a forked child and returns the numbers it produced. Each
/// measurement then starts from the same small heap, and a child's peak RSS
/// is its own. Call only while this process has a single thread (before any
/// actor system exists). The child leaves with `_exit`, skipping teardown:
/// `fn` must clean up files itself. Throws if the child fails.
inline std::vector<double>
in_child(const std::function<std::vector<double>()>& fn) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  auto pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(fds[0]);
    int rc = 0;
    try {
      auto xs = fn();
      auto n = static_cast<uint64_t>(xs.size());
      bool ok = ::write(fds[1], &n, sizeof(n)) == sizeof(n);
      auto bytes = static_cast<ssize_t>(xs.size() * sizeof(double));
      ok = ok && ::write(fds[1], xs.data(), bytes) == bytes;
      rc = ok ? 0 : 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "measurement failed: %s\n", e.what());
      rc = 1;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(rc);
  }
  ::close(fds[1]);
  std::vector<double> result;
  uint64_t n = 0;
  if (::read(fds[0], &n, sizeof(n)) == sizeof(n) && n < (1u << 20)) {
    result.resize(n);
    auto want = static_cast<ssize_t>(n * sizeof(double));
    auto* out = reinterpret_cast<char*>(result.data());
    ssize_t got = 0;
    while (got < want) {
      auto k = ::read(fds[0], out + got, static_cast<size_t>(want - got));
      if (k <= 0)
        break;
      got += k;
    }
    if (got != want)
      result.clear();
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || result.empty())
    throw std::runtime_error("the measuring child process failed");
  return result;
}

/// Removes a directory tree (for children that leave with `_exit`).
inline void remove_tree(const std::string& path) {
  std::string cmd = "rm -rf '" + path + "'";
  [[maybe_unused]] auto rc = std::system(cmd.c_str());
}

/// The `p`-th quantile (0 < p <= 1) of a sorted series: the smallest value
/// with at least p * n values at or below it.
inline double quantile_sorted(const std::vector<double>& xs, double p) {
  if (xs.empty())
    return 0;
  auto rank =
      static_cast<size_t>(std::ceil(p * static_cast<double>(xs.size())));
  return xs[std::min(xs.size(), std::max<size_t>(rank, 1)) - 1];
}

/// Reads the number after `"key": ` in `<dir>/<name>.json` (the first
/// occurrence), or returns `fallback` if there is no such file or key.
inline double read_json_number(const std::string& dir, const std::string& name,
                               const std::string& key, double fallback) {
  std::ifstream in{dir + "/" + name + ".json"};
  if (!in)
    return fallback;
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto needle = "\"" + key + "\": ";
  auto pos = text.find(needle);
  if (pos == std::string::npos)
    return fallback;
  return std::atof(text.c_str() + pos + needle.size());
}

/// Formats `x` with `digits` decimals.
inline std::string fixed(double x, int digits = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

} // namespace bench
