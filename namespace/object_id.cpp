#include "durable/object_id.hpp"

#include <cstring>
#include <utility>

namespace durable {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Returns the value of one hex digit, or -1.
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

// -- constructors -------------------------------------------------------------

object_id::object_id() noexcept : bytes_{} {
  // nop
}

object_id::object_id(const bytes_type& bytes, std::string name)
    : bytes_(bytes), name_(std::move(name)) {
  // nop
}

// -- properties ---------------------------------------------------------------

std::string object_id::to_string() const {
  std::string result(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    result[2 * i] = hex_digits[bytes_[i] >> 4];
    result[2 * i + 1] = hex_digits[bytes_[i] & 0x0F];
  }
  return result;
}

jurisdiction object_id::jurisdiction() const noexcept {
  auto code = static_cast<uint8_t>(bytes_[0] & 0x07);
  if (code > static_cast<uint8_t>(jurisdiction::us))
    return jurisdiction::none;
  return static_cast<durable::jurisdiction>(code);
}

size_t object_id::hash() const noexcept {
  // Byte 0 is structured and bytes 1..2 of unique IDs are a placement tag;
  // the MAC half is HMAC output and thus uniform for every verified ID.
  size_t result;
  std::memcpy(&result, bytes_.data() + 16, sizeof(result));
  return result;
}

// -- free functions -----------------------------------------------------------

std::string to_string(const object_id& x) {
  return x.to_string();
}

bool parse_hex_id(std::string_view hex, object_id::bytes_type& out) noexcept {
  if (hex.size() != object_id::size * 2)
    return false;
  for (size_t i = 0; i < object_id::size; ++i) {
    auto hi = hex_value(hex[2 * i]);
    auto lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

} // namespace durable
