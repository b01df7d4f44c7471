#pragma once

// Shared by the fuzz targets (fuzz/*.cpp): a reader that turns the fuzzer's
// bytes into decisions, and a check that aborts on violation (so libFuzzer
// and the replay driver both see it as a failure).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

/// Aborts with `what` if `cond` is false. Unlike assert, never compiled out.
#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s (%s)\n", __FILE__,    \
                   __LINE__, #cond, std::string{what}.c_str());                \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace durable::fuzz {

/// Consumes the fuzz input front to back; once it is exhausted every read
/// returns zeros or empty strings, so a harness never reads out of bounds.
class input {
public:
  input(const uint8_t* data, size_t size) : data_(data), size_(size) {
    // nop
  }

  bool empty() const noexcept { return pos_ >= size_; }

  size_t remaining() const noexcept { return empty() ? 0 : size_ - pos_; }

  uint8_t byte() noexcept { return empty() ? 0 : data_[pos_++]; }

  uint16_t u16() noexcept {
    auto hi = byte();
    return static_cast<uint16_t>((hi << 8) | byte());
  }

  bool flag() noexcept { return (byte() & 1) != 0; }

  /// Up to `n` bytes (fewer when the input runs out).
  std::string_view bytes(size_t n) noexcept {
    n = n < remaining() ? n : remaining();
    std::string_view result{reinterpret_cast<const char*>(data_ + pos_), n};
    pos_ += n;
    return result;
  }

  /// A string of length byte() (0..255).
  std::string_view short_string() noexcept { return bytes(byte()); }

  /// Everything not consumed yet.
  std::string_view rest() noexcept { return bytes(remaining()); }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

} // namespace durable::fuzz
