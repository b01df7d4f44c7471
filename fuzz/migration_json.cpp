// Fuzzes the strict JSON reader (namespace/strict_json: nlohmann-json with
// duplicate-name and depth checks), the migration parser on top of it
// (parse_migrations) and the writer (dump_json). Oracles:
//  - a parsed document is never nested deeper than the bound, written back
//    it parses to the same document, writing is stable, and its strings are
//    valid UTF-8 (a strict dump does not throw);
//  - errors are invalid_argument and name a line and column;
//  - parse_migrations accepts only what the reader accepts, fails with
//    invalid_argument, and an accepted list written back (every field
//    explicit) parses to the same migrations;
//  - any bytes as a JSON string parse back to a string of valid UTF-8, the
//    same bytes if they were valid UTF-8 (U+FFFD replacements otherwise).

#include <string>
#include <vector>

#include "durable/errc.hpp"
#include "durable/migration.hpp"
#include "fuzz_input.hpp"
#include "strict_json.hpp"

namespace {

using namespace durable;
using json = nlohmann::json;

constexpr size_t max_depth = 8;

/// Whether `x` dumps without replacements: all its strings are UTF-8.
bool valid_utf8(const json& x) {
  try {
    (void)x.dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

size_t depth_of(const json& x) {
  size_t result = 0;
  if (x.is_structured())
    for (auto& item : x)
      result = std::max(result, depth_of(item));
  return x.is_structured() ? result + 1 : 0;
}

json to_json(const std::vector<migration>& xs) {
  auto result = json::array();
  for (auto& m : xs) {
    auto news = json::array();
    for (auto& c : m.new_classes)
      news.push_back(
          {{"name", c.name}, {"class", c.class_name}, {"script", c.script}});
    auto renames = json::array();
    for (auto& r : m.renamed_classes)
      renames.push_back({{"from", r.from}, {"to", r.to}});
    result.push_back({{"tag", m.tag},
                      {"new_classes", std::move(news)},
                      {"renamed_classes", std::move(renames)},
                      {"deleted_classes", m.deleted_classes}});
  }
  return result;
}

bool same(const std::vector<migration>& xs, const std::vector<migration>& ys) {
  return to_json(xs) == to_json(ys);
}

void check_document(std::string_view text) {
  auto doc = detail::parse_strict_json(text, max_depth);
  if (!doc) {
    FUZZ_CHECK(is(doc.error(), errc::invalid_argument), "wrong error code");
    FUZZ_CHECK(message_of(doc.error()).find(", column ") != std::string::npos,
               "error without a position: " + message_of(doc.error()));
    return;
  }
  FUZZ_CHECK(depth_of(*doc) <= max_depth, "nested deeper than the bound");
  FUZZ_CHECK(valid_utf8(*doc), "parsed string is not UTF-8");
  auto out = detail::dump_json(*doc);
  auto again = detail::parse_strict_json(out, max_depth);
  FUZZ_CHECK(again, "written document does not parse: " + out);
  FUZZ_CHECK(*doc == *again, "written document parses differently");
  FUZZ_CHECK(out == detail::dump_json(*again), "writing is not stable");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  check_document(text);
  // Migrations (the reader's own bound, 64 levels).
  auto ms = parse_migrations(text);
  if (ms) {
    FUZZ_CHECK(detail::parse_strict_json(text, 64),
               "migrations accepted from invalid JSON");
    auto out = detail::dump_json(to_json(*ms));
    auto again = parse_migrations(out);
    FUZZ_CHECK(again, "written migrations do not parse: " + out);
    FUZZ_CHECK(same(*ms, *again), "written migrations parse differently");
  } else {
    FUZZ_CHECK(is(ms.error(), errc::invalid_argument), "wrong error code");
  }
  // The writer on arbitrary bytes.
  json bytes = std::string{text};
  auto parsed = detail::parse_strict_json(detail::dump_json(bytes), 1);
  FUZZ_CHECK(parsed && parsed->is_string(), "written bytes not a string");
  FUZZ_CHECK(valid_utf8(*parsed), "written bytes not UTF-8");
  if (valid_utf8(bytes))
    FUZZ_CHECK(*parsed == bytes, "writing changed valid UTF-8");
  return 0;
}
