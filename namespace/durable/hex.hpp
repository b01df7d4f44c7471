#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace durable {

/// Appends the two lowercase hex digits of `byte` to `out`.
inline void append_hex(std::string& out, uint8_t byte) {
  static constexpr char digits[] = "0123456789abcdef";
  out += digits[byte >> 4];
  out += digits[byte & 0x0F];
}

/// Returns `bytes` as lowercase hex.
inline std::string to_hex(const uint8_t* bytes, size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i)
    append_hex(out, bytes[i]);
  return out;
}

/// Returns `bytes` as lowercase hex.
inline std::string to_hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

/// Returns the value of the hex digit `c` (either case), or -1.
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace durable
