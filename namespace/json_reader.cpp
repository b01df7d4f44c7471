#include "json_reader.hpp"

#include <cstdint>
#include <string>
#include <unordered_set>

#include "durable/errc.hpp"

namespace durable::detail {

namespace {

constexpr size_t max_depth = 64;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class parser {
public:
  explicit parser(std::string_view input) : in_(input) {
    // nop
  }

  caf::expected<json_value> run() {
    json_value result;
    if (auto err = value(result, 0))
      return err;
    skip_ws();
    if (pos_ != in_.size())
      return fail("unexpected text after the value");
    return result;
  }

private:
  caf::error fail(const std::string& what) const {
    return make_error(errc::invalid_argument,
                      "invalid JSON at line " + std::to_string(line_) +
                          ", column " + std::to_string(column()) + ": " + what);
  }

  size_t column() const noexcept { return pos_ - line_start_ + 1; }

  void skip_ws() {
    while (pos_ < in_.size()) {
      auto c = in_[pos_];
      if (c == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++pos_;
    }
  }

  bool literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }

  caf::error value(json_value& out, size_t depth) {
    skip_ws();
    out.line = line_;
    out.column = column();
    if (pos_ == in_.size())
      return fail("unexpected end of input");
    auto c = in_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth)
        return fail("nested too deeply");
      return c == '{' ? object(out, depth) : array(out, depth);
    }
    if (c == '"') {
      out.type = json_value::kind::string;
      return string(out.text);
    }
    if (literal("true") || literal("false")) {
      out.type = json_value::kind::boolean;
      out.boolean = c == 't';
      return caf::none;
    }
    if (literal("null"))
      return caf::none;
    if (c == '-' || (c >= '0' && c <= '9'))
      return number(out);
    return fail(std::string{"unexpected character '"} + c + "'");
  }

  caf::error number(json_value& out) {
    auto start = pos_;
    auto digits = [&] {
      auto first = pos_;
      while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9')
        ++pos_;
      return pos_ - first;
    };
    if (in_[pos_] == '-')
      ++pos_;
    auto int_start = pos_;
    auto n = digits();
    if (n == 0 || (n > 1 && in_[int_start] == '0'))
      return fail("malformed number");
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (digits() == 0)
        return fail("malformed number");
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-'))
        ++pos_;
      if (digits() == 0)
        return fail("malformed number");
    }
    out.type = json_value::kind::number;
    out.text.assign(in_.substr(start, pos_ - start));
    return caf::none;
  }

  caf::error hex4(uint32_t& out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (pos_ >= in_.size())
        return fail("unexpected end of input in \\u escape");
      auto c = in_[pos_];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("malformed \\u escape");
    }
    return caf::none;
  }

  caf::error string(std::string& out) {
    ++pos_; // opening quote
    for (;;) {
      if (pos_ >= in_.size())
        return fail("unterminated string");
      auto c = static_cast<uint8_t>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return caf::none;
      }
      if (c < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        auto n = utf8_length(in_, pos_);
        if (n == 0)
          return fail("invalid UTF-8 in string");
        out.append(in_.substr(pos_, n));
        pos_ += n;
        continue;
      }
      if (++pos_ >= in_.size())
        return fail("unterminated string");
      auto e = in_[pos_++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (auto err = hex4(cp))
          return err;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("unpaired surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low = 0;
          if (!literal("\\u"))
            return fail("unpaired surrogate in \\u escape");
          if (auto err = hex4(low))
            return err;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return fail(std::string{"unknown escape '\\"} + e + "'");
      }
    }
  }

  caf::error array(json_value& out, size_t depth) {
    out.type = json_value::kind::array;
    ++pos_;
    skip_ws();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return caf::none;
    }
    for (;;) {
      out.items.emplace_back();
      if (auto err = value(out.items.back(), depth + 1))
        return err;
      skip_ws();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == ']') {
        ++pos_;
        return caf::none;
      }
      return fail("expected ',' or ']'");
    }
  }

  caf::error object(json_value& out, size_t depth) {
    out.type = json_value::kind::object;
    ++pos_;
    skip_ws();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return caf::none;
    }
    // Hashed: a linear `find` per member made n members cost O(n^2).
    std::unordered_set<std::string> seen;
    for (;;) {
      skip_ws();
      if (pos_ >= in_.size() || in_[pos_] != '"')
        return fail("expected a member name in quotes");
      std::string name;
      if (auto err = string(name))
        return err;
      if (!seen.insert(name).second)
        return fail("duplicate member \"" + name + "\"");
      skip_ws();
      if (pos_ >= in_.size() || in_[pos_] != ':')
        return fail("expected ':'");
      ++pos_;
      json_value member;
      if (auto err = value(member, depth + 1))
        return err;
      out.members.emplace_back(std::move(name), std::move(member));
      skip_ws();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == '}') {
        ++pos_;
        return caf::none;
      }
      return fail("expected ',' or '}'");
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t line_start_ = 0;
};

} // namespace

const json_value* json_value::find(std::string_view name) const noexcept {
  for (auto& [key, value] : members)
    if (key == name)
      return &value;
  return nullptr;
}

std::string json_value::where() const {
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

const char* to_string(json_value::kind x) noexcept {
  switch (x) {
  case json_value::kind::null:
    return "null";
  case json_value::kind::boolean:
    return "a boolean";
  case json_value::kind::number:
    return "a number";
  case json_value::kind::string:
    return "a string";
  case json_value::kind::array:
    return "an array";
  case json_value::kind::object:
    return "an object";
  }
  return "a value";
}

caf::expected<json_value> parse_json(std::string_view input) {
  return parser{input}.run();
}

} // namespace durable::detail
