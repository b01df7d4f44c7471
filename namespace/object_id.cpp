#include "durable/object_id.hpp"

#include <cstring>
#include <utility>

#include "durable/hex.hpp"

namespace durable {

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
  return to_hex(bytes_.data(), size);
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
