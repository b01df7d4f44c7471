#include "durable/json.hpp"

#include <cstdint>

#include "durable/hex.hpp"
#include "json_reader.hpp"

namespace durable {

namespace detail {

// Length of the valid UTF-8 sequence at x[i], or 0 if there is none.
size_t utf8_length(std::string_view x, size_t i) noexcept {
  auto b = [&](size_t k) { return static_cast<uint8_t>(x[k]); };
  auto cont = [&](size_t k) { return k < x.size() && (b(k) & 0xC0) == 0x80; };
  auto c = b(i);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    auto c1 = b(i + 1);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F))
      return 0; // overlong or surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    auto c1 = b(i + 1);
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
      return 0;
    return 4;
  }
  return 0;
}

} // namespace detail

// -- writing ------------------------------------------------------------------

std::string json_quote(std::string_view x) {
  std::string out;
  out.reserve(x.size() + 2);
  out += '"';
  for (size_t i = 0; i < x.size();) {
    auto c = static_cast<uint8_t>(x[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        append_hex(out, static_cast<uint8_t>(c));
      }
      ++i;
    } else if (auto n = detail::utf8_length(x, i); n > 0) {
      out.append(x.substr(i, n));
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
  return out;
}

} // namespace durable
