#pragma once

// The resident memory of the test process itself, from /proc/self/status:
// servers under test run in it, so this is the server's memory (plus the
// clients', which the tests keep small).

#include <cstddef>
#include <fstream>
#include <string>

namespace durable::test {

/// How many times the memory bounds the tests state for a normal build are
/// allowed under a sanitizer: ASan keeps freed blocks in quarantine (the
/// sanitizer builds' test environment makes it 16 MiB) and pads every
/// allocation with red zones; TSan shadows every byte it touches.
constexpr size_t sanitizer_memory_factor =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    3;
#else
    1;
#endif

/// The value in kB of `field` ("VmRSS", "VmHWM") in bytes; 0 if absent.
inline size_t proc_status_bytes(const std::string& field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0)
      return std::stoull(line.substr(field.size() + 1)) * 1024;
  return 0;
}

/// Resident memory now.
inline size_t rss_bytes() {
  return proc_status_bytes("VmRSS");
}

/// Peak resident memory since the last `reset_peak_rss` (or the start).
inline size_t peak_rss_bytes() {
  return proc_status_bytes("VmHWM");
}

/// Makes the peak start again from the current resident memory.
inline void reset_peak_rss() {
  std::ofstream{"/proc/self/clear_refs"} << "5";
}

} // namespace durable::test
