#include "strict_json.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <vector>

#include "durable/errc.hpp"

namespace durable::detail {

namespace {

using json = nlohmann::json;

/// Reads `text` for the library and publishes how far it got: the parser
/// callback learns no positions otherwise. The lexer reads no further than
/// the token it has just handed over (but a number's next byte), so at a
/// callback the position is the end of the current token.
class tracking_iterator {
public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  tracking_iterator(const char* pos, const char** read) noexcept
      : pos_(pos), read_(read) {
    // nop
  }

  reference operator*() const noexcept { return *pos_; }

  tracking_iterator& operator++() noexcept {
    *read_ = ++pos_;
    return *this;
  }

  tracking_iterator operator++(int) noexcept {
    auto result = *this;
    ++*this;
    return result;
  }

  bool operator==(const tracking_iterator& x) const noexcept {
    return pos_ == x.pos_;
  }

  bool operator!=(const tracking_iterator& x) const noexcept {
    return pos_ != x.pos_;
  }

private:
  const char* pos_;
  const char** read_;
};

/// Thrown by the callback to stop the parser at once (the library has no
/// other way to stop; it keeps parsing past a discarded value).
struct refusal {
  std::string what;
};

/// Checks what `json::parse` does not: nesting depth and duplicate names.
struct guard {
  size_t max_depth;
  std::vector<std::unordered_set<std::string>> names; // one per open object

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      if (static_cast<size_t>(depth) >= max_depth)
        throw refusal{"nested deeper than " + std::to_string(max_depth) +
                      " levels"};
      if (event == json::parse_event_t::object_start)
        names.emplace_back();
      return true;
    case json::parse_event_t::object_end:
      names.pop_back();
      return true;
    case json::parse_event_t::key: {
      // Hashed: a linear search per member made n members cost O(n^2).
      auto& name = parsed.get_ref<const std::string&>();
      if (!names.back().insert(name).second)
        throw refusal{"duplicate member " + echo(name)};
      return true;
    }
    default:
      return true;
    }
  }
};

/// The library's description without its prefixes ("[json.exception.x.n]
/// parse error at line L, column C: "), cut short: it may quote a whole
/// (long) token.
std::string describe(const json::exception& e) {
  std::string_view what = e.what();
  if (auto bracket = what.find("] "); bracket != std::string_view::npos)
    what.remove_prefix(bracket + 2);
  if (what.substr(0, 11) == "parse error")
    if (auto colon = what.find(": "); colon != std::string_view::npos)
      what.remove_prefix(colon + 2);
  constexpr size_t max_what = 200;
  if (what.size() > max_what)
    return std::string{what.substr(0, max_what)} + "...";
  return std::string{what};
}

} // namespace

caf::expected<json> parse_strict_json(std::string_view text, size_t max_depth) {
  const char* read = text.data();
  tracking_iterator first{text.data(), &read};
  tracking_iterator last{text.data() + text.size(), &read};
  guard check{max_depth, {}};
  auto at = [&](size_t offset) { return line_and_column(text, offset); };
  auto fail = [](std::string what) {
    return make_error(errc::invalid_argument, std::move(what));
  };
  try {
    return json::parse(
        first, last,
        [&check](int depth, json::parse_event_t event, json& parsed) {
          return check(depth, event, parsed);
        });
  } catch (const refusal& r) {
    return fail(r.what + " at " + at(read - text.data()));
  } catch (const json::parse_error& e) {
    return fail("invalid JSON at " + at(e.byte) + ": " + describe(e));
  } catch (const json::exception& e) {
    // E.g. a number out of range: the library gives no position.
    return fail("invalid JSON at " + at(read - text.data()) + ": " +
                describe(e));
  }
}

std::string dump_json(const nlohmann::json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dump_json(const nlohmann::ordered_json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string echo(std::string_view x) {
  constexpr size_t max_echo = 80;
  auto result = dump_json(json(std::string{x.substr(0, max_echo)}));
  if (x.size() > max_echo)
    result += "...";
  return result;
}

std::string echo_json(const json& x) {
  if (x.is_string())
    return echo(x.get_ref<const std::string&>());
  constexpr size_t max_echo = 80;
  auto result = dump_json(x);
  if (result.size() > max_echo)
    result = result.substr(0, max_echo) + "...";
  return result;
}

std::string line_and_column(std::string_view text, size_t offset) {
  // `offset` counts bytes read, so the byte itself is at offset - 1; at the
  // end of the input it is one past the last byte.
  auto index = std::min(offset > 0 ? offset - 1 : 0, text.size());
  auto before = text.substr(0, index);
  auto line = std::count(before.begin(), before.end(), '\n') + 1;
  auto newline = before.rfind('\n');
  auto column = newline == std::string_view::npos ? index + 1 : index - newline;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

} // namespace durable::detail
