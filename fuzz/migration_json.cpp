// Fuzzes the JSON reader (namespace/json_reader), the migration parser on
// top of it (parse_migrations) and the JSON writer (json_quote). Oracles:
//  - a parsed document, written back, parses to the same document, and all
//    its strings are valid UTF-8;
//  - parse_migrations accepts only what parse_json accepts, fails with
//    invalid_argument, and an accepted list written back (every field
//    explicit) parses to the same migrations;
//  - json_quote of any bytes is a JSON string that parses back to them (to
//    U+FFFD replacements where the bytes are not UTF-8).

#include <string>
#include <vector>

#include "durable/errc.hpp"
#include "durable/json.hpp"
#include "durable/migration.hpp"
#include "fuzz_input.hpp"
#include "json_reader.hpp"

namespace {

using namespace durable;
using detail::json_value;

bool valid_utf8(std::string_view x) {
  for (size_t i = 0; i < x.size();) {
    auto n = detail::utf8_length(x, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

void write(const json_value& x, std::string& out) {
  switch (x.type) {
  case json_value::kind::null:
    out += "null";
    break;
  case json_value::kind::boolean:
    out += x.boolean ? "true" : "false";
    break;
  case json_value::kind::number:
    out += x.text;
    break;
  case json_value::kind::string:
    FUZZ_CHECK(valid_utf8(x.text), "parsed string is not UTF-8");
    out += json_quote(x.text);
    break;
  case json_value::kind::array:
    out += '[';
    for (size_t i = 0; i < x.items.size(); ++i) {
      out += i == 0 ? "" : ",";
      write(x.items[i], out);
    }
    out += ']';
    break;
  case json_value::kind::object:
    out += '{';
    for (size_t i = 0; i < x.members.size(); ++i) {
      out += i == 0 ? "" : ",";
      FUZZ_CHECK(valid_utf8(x.members[i].first), "member name not UTF-8");
      out += json_quote(x.members[i].first);
      out += ':';
      write(x.members[i].second, out);
    }
    out += '}';
    break;
  }
}

bool same(const json_value& x, const json_value& y) {
  if (x.type != y.type || x.boolean != y.boolean || x.text != y.text ||
      x.items.size() != y.items.size() || x.members.size() != y.members.size())
    return false;
  for (size_t i = 0; i < x.items.size(); ++i)
    if (!same(x.items[i], y.items[i]))
      return false;
  for (size_t i = 0; i < x.members.size(); ++i)
    if (x.members[i].first != y.members[i].first ||
        !same(x.members[i].second, y.members[i].second))
      return false;
  return true;
}

std::string write(const std::vector<migration>& xs) {
  std::string out = "[";
  for (auto& m : xs) {
    out += out.size() == 1 ? "{" : ",{";
    out += "\"tag\":" + json_quote(m.tag) + ",\"new_classes\":[";
    for (auto& c : m.new_classes)
      out += (&c == &m.new_classes.front() ? "" : ",") +
             ("{\"name\":" + json_quote(c.name) +
              ",\"class\":" + json_quote(c.class_name) +
              ",\"script\":" + json_quote(c.script) + "}");
    out += "],\"renamed_classes\":[";
    for (auto& r : m.renamed_classes)
      out += (&r == &m.renamed_classes.front() ? "" : ",") +
             ("{\"from\":" + json_quote(r.from) +
              ",\"to\":" + json_quote(r.to) + "}");
    out += "],\"deleted_classes\":[";
    for (auto& d : m.deleted_classes)
      out += (&d == &m.deleted_classes.front() ? "" : ",") + json_quote(d);
    out += "]}";
  }
  return out + "]";
}

bool same(const std::vector<migration>& xs, const std::vector<migration>& ys) {
  if (xs.size() != ys.size())
    return false;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto &x = xs[i], &y = ys[i];
    if (x.tag != y.tag || x.new_classes.size() != y.new_classes.size() ||
        x.renamed_classes.size() != y.renamed_classes.size() ||
        x.deleted_classes != y.deleted_classes)
      return false;
    for (size_t j = 0; j < x.new_classes.size(); ++j)
      if (x.new_classes[j].name != y.new_classes[j].name ||
          x.new_classes[j].class_name != y.new_classes[j].class_name ||
          x.new_classes[j].script != y.new_classes[j].script)
        return false;
    for (size_t j = 0; j < x.renamed_classes.size(); ++j)
      if (x.renamed_classes[j].from != y.renamed_classes[j].from ||
          x.renamed_classes[j].to != y.renamed_classes[j].to)
        return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  // The reader and its writer round trip.
  auto doc = detail::parse_json(text);
  if (doc) {
    std::string out;
    write(*doc, out);
    auto again = detail::parse_json(out);
    FUZZ_CHECK(again, "written document does not parse: " + out);
    FUZZ_CHECK(same(*doc, *again), "written document parses differently");
    std::string out2;
    write(*again, out2);
    FUZZ_CHECK(out == out2, "writing is not stable");
  } else {
    FUZZ_CHECK(is(doc.error(), errc::invalid_argument), "wrong error code");
  }
  // Migrations.
  auto ms = parse_migrations(text);
  if (!doc)
    FUZZ_CHECK(!ms, "migrations accepted from invalid JSON");
  if (ms) {
    auto out = write(*ms);
    auto again = parse_migrations(out);
    FUZZ_CHECK(again, "written migrations do not parse: " + out);
    FUZZ_CHECK(same(*ms, *again), "written migrations parse differently");
  } else {
    FUZZ_CHECK(is(ms.error(), errc::invalid_argument), "wrong error code");
  }
  // The writer on arbitrary bytes.
  auto quoted = json_quote(text);
  auto parsed = detail::parse_json(quoted);
  FUZZ_CHECK(parsed && parsed->is_string(), "json_quote output not a string");
  FUZZ_CHECK(valid_utf8(parsed->text), "json_quote output not UTF-8");
  if (valid_utf8(text))
    FUZZ_CHECK(parsed->text == text, "json_quote changed valid UTF-8");
  return 0;
}
