// Below the registry: migration files (the strict JSON reader over
// nlohmann-json), JSON output, and the storage engine's meta transactions
// and read-only mode on real LMDB.

#define BOOST_TEST_MODULE meta
#include <boost/test/unit_test.hpp>

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data_file_check.hpp"
#include "durable/errc.hpp"
#include "durable/migration.hpp"
#include "durable/namespace_registry.hpp"
#include "durable/storage_engine.hpp"
#include "test_objects.hpp"

#include <nlohmann/json.hpp>

using durable::errc;
using durable::jurisdiction;
using test::temp_dir;

namespace {

std::unique_ptr<durable::storage_engine> raw_engine(const std::string& dir) {
  durable::storage_options opts;
  opts.data_dir = dir;
  auto engine = durable::storage_engine::open(opts);
  BOOST_REQUIRE(engine);
  return std::move(*engine);
}

} // namespace

BOOST_AUTO_TEST_CASE(migration_files_parse_strictly) {
  auto ok = durable::parse_migrations(R"({
    "script": "app",
    "migrations": [
      {"tag": "v1", "new_classes": ["a", {"name": "b", "class": "B",
                                          "script": "other"}]},
      {"tag": "v2", "renamed_classes": [{"from": "a", "to": "caf\u00e9\ud83d\ude00"}]},
      {"tag": "v3", "deleted_classes": ["b"]}
    ]})");
  BOOST_REQUIRE_MESSAGE(ok, (ok ? "" : durable::message_of(ok.error())));
  BOOST_REQUIRE_EQUAL(ok->size(), 3u);
  auto& v1 = (*ok)[0];
  BOOST_CHECK_EQUAL(v1.tag, "v1");
  BOOST_REQUIRE_EQUAL(v1.new_classes.size(), 2u);
  BOOST_CHECK_EQUAL(v1.new_classes[0].name, "a");
  BOOST_CHECK_EQUAL(v1.new_classes[0].script, "app");
  BOOST_CHECK_EQUAL(v1.new_classes[1].class_name, "B");
  BOOST_CHECK_EQUAL(v1.new_classes[1].script, "other");
  BOOST_CHECK_EQUAL((*ok)[1].renamed_classes.at(0).to,
                    "caf\xc3\xa9\xf0\x9f\x98\x80");
  BOOST_CHECK_EQUAL((*ok)[2].deleted_classes.at(0), "b");
  auto bare = durable::parse_migrations(R"([{"tag": "x"}])");
  BOOST_REQUIRE(bare);
  BOOST_CHECK_EQUAL(bare->at(0).tag, "x");
  for (auto [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {R"([{"tag": "x", "new_clases": []}])", "unknown member"},
           {R"([{"tag": "x", "new_sqlite_classes": ["a"]}])", "not supported"},
           {R"([{"new_classes": []}])", "needs a \"tag\""},
           {R"([{"tag": 1}])", "must be a string"},
           {R"([{"tag": "x", "renamed_classes": [{"from": "a"}]}])", "\"to\""},
           {R"({"migrations": {}})", "must be an array"},
           {R"({"tag": "x", "tag": "y"})", "duplicate"},
           {"[{\"tag\": \"x\",\n  \"deleted_classes\": [\"a\" \"b\"]}]",
            "line 2, column 29"},
           {R"([{"tag": "\ud800"}])", "surrogate"},
           {"[\"\xff\"]", "UTF-8"},
           {"[1,]", "invalid JSON"},
           {"[] []", "expected end of input"},
       }) {
    auto bad = durable::parse_migrations(text);
    BOOST_REQUIRE_MESSAGE(!bad, text);
    BOOST_CHECK(durable::is(bad.error(), errc::invalid_argument));
    BOOST_CHECK_MESSAGE(durable::message_of(bad.error()).find(expected) !=
                            std::string::npos,
                        text << " -> " << durable::message_of(bad.error()));
  }
}

namespace {

std::string migration_error(const std::string& text) {
  auto res = durable::parse_migrations(text);
  BOOST_REQUIRE_MESSAGE(!res, "accepted: " << text.substr(0, 80));
  BOOST_CHECK(durable::is(res.error(), errc::invalid_argument));
  return durable::message_of(res.error());
}

} // namespace

BOOST_AUTO_TEST_CASE(migration_errors_name_line_and_column_or_path) {
  // Not JSON: the line and column of the offending token's last byte (the
  // second migration lacks a comma after its tag).
  BOOST_CHECK_EQUAL(
      migration_error("[\n  {\"tag\": \"v1\"},\n  {\"tag\": \"v2\" "
                      "\"new_classes\": []}\n]"),
      "migrations: invalid JSON at line 3, column 28: syntax error while "
      "parsing object - unexpected string literal; expected '}'");
  // Cut off: one past the last byte.
  BOOST_CHECK_EQUAL(migration_error("[{\"tag\": \"v1\"},\n"),
                    "migrations: invalid JSON at line 2, column 1: syntax "
                    "error while parsing value - unexpected end of input; "
                    "expected '[', '{', or a literal");
  // Valid JSON, wrong content: the path of the value.
  BOOST_CHECK_EQUAL(migration_error(R"({"migrations": [{"tag": "a"},
        {"tag": "b", "renamed_classes": [{"from": "x", "to": 7}]}]})"),
                    "migrations: \"to\" must be a string, not a number (at "
                    "migrations[1].renamed_classes[0].to)");
  BOOST_CHECK_EQUAL(migration_error(R"([{"tag": "a", "colour": 1}])"),
                    "migrations: unknown member \"colour\" in migration \"a\" "
                    "(at [0].colour)");
  BOOST_CHECK_EQUAL(migration_error(R"({"script": "x"})"),
                    "migrations: the file needs a \"migrations\" array (at the "
                    "top level)");
  // A number the library cannot hold still gets a position (the byte after
  // it: the end of a number shows only there).
  BOOST_CHECK_EQUAL(migration_error("[{\"tag\": 1e999}]"),
                    "migrations: invalid JSON at line 1, column 15: number "
                    "overflow parsing '1e999'");
}

BOOST_AUTO_TEST_CASE(duplicate_members_are_refused_where_they_are) {
  // nlohmann-json alone keeps the last of two members silently.
  BOOST_CHECK_EQUAL(migration_error("[{\"tag\": \"a\",\n  \"tag\": \"b\"}]"),
                    "migrations: duplicate member \"tag\" at line 2, column 7");
  // Names count per object: the same name in two objects is fine, in one
  // nested object it is not, also after escapes ("\u0074ag" is "tag").
  auto ok = durable::parse_migrations(R"([{"tag": "a"}, {"tag": "b"}])");
  BOOST_CHECK(ok);
  BOOST_CHECK_EQUAL(
      migration_error(R"([{"tag": "a", "new_classes": [{"name": "n",
                          "\u006eame": "m"}]}])"),
      "migrations: duplicate member \"name\" at line 2, column 37");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_while_parsing) {
  // 100 000 levels: the reader stops at level 65 instead of building a tree
  // whose dump or copy would recurse 100 000 deep.
  for (auto [open, close] : {std::pair{"[", "]"}, std::pair{"{\"a\":", "}"}}) {
    std::string deep;
    for (int i = 0; i < 100'000; ++i)
      deep += open;
    for (int i = 0; i < 100'000; ++i)
      deep += close;
    auto column = std::to_string(64 * std::string{open}.size() + 1);
    BOOST_CHECK_EQUAL(migration_error(deep),
                      "migrations: nested deeper than 64 levels at line 1, "
                      "column " +
                          column);
  }
  // 64 levels are JSON the reader accepts (but no migrations).
  auto at_bound = std::string(64, '[') + std::string(64, ']');
  auto msg = migration_error(at_bound);
  BOOST_CHECK_MESSAGE(msg.find("nested") == std::string::npos, msg);
  BOOST_CHECK_MESSAGE(msg.find("must be an object") != std::string::npos, msg);
}

BOOST_AUTO_TEST_CASE(json_output_stays_json_for_any_bytes) {
  // Names are arbitrary bytes: invalid UTF-8 becomes U+FFFD, control
  // characters are escaped, valid UTF-8 is kept, members keep their order.
  durable::namespace_list page;
  page.result.push_back({std::string(32, 'a'), "bad\xff\xc3(\x01\"",
                         "s\xed\xa0\x80", "caf\xc3\xa9"});
  page.result_info = {1, 20, 1, 1};
  auto text = durable::to_json(page);
  BOOST_CHECK_EQUAL(text.substr(0, 51),
                    "{\"result\":[{\"id\":\"" + std::string(32, 'a') + "\"");
  auto doc = nlohmann::json::parse(text, nullptr, false);
  BOOST_REQUIRE_MESSAGE(doc.is_object(), text);
  auto& rec = doc["result"][0];
  BOOST_CHECK_EQUAL(rec["name"].get<std::string>(),
                    "bad\xef\xbf\xbd\xef\xbf\xbd(\x01\"");
  BOOST_CHECK_EQUAL(rec["class"].get<std::string>(), "caf\xc3\xa9");
  BOOST_CHECK(rec["script"].get<std::string>().find("\xef\xbf\xbd") !=
              std::string::npos);
  BOOST_CHECK(text.find("\\u0001") != std::string::npos);
  auto err = durable::to_json_error(
      durable::make_error(errc::invalid_argument, "no \xff here"));
  auto parsed = nlohmann::json::parse(err, nullptr, false);
  BOOST_REQUIRE_MESSAGE(parsed.is_object(), err);
  BOOST_CHECK_EQUAL(parsed["errors"][0]["message"].get<std::string>(),
                    "no \xef\xbf\xbd here");
}

BOOST_AUTO_TEST_CASE(engine_updates_are_atomic_and_guard_reserved_keys) {
  temp_dir dir;
  auto engine = raw_engine(dir.path);
  auto err =
      engine->update(jurisdiction::eu, [](durable::meta_transaction& tx) {
        if (auto e = tx.put("app/x", "1"))
          return e;
        return durable::make_error(errc::invalid_argument, "changed my mind");
      });
  BOOST_REQUIRE(err);
  BOOST_CHECK_EQUAL(durable::message_of(err), "changed my mind");
  BOOST_CHECK(!*engine->meta_get(jurisdiction::eu, "app/x"));
  for (auto key : {"format", "ns/x", "ns-next", ""}) {
    auto refused = engine->update(jurisdiction::eu,
                                  [&](auto& tx) { return tx.put(key, "y"); });
    BOOST_CHECK_MESSAGE(durable::is(refused, errc::invalid_argument), key);
  }
  BOOST_REQUIRE(!engine->update(jurisdiction::eu, [](auto& tx) {
    if (auto e = tx.put("app/a", "1"))
      return e;
    if (auto e = tx.put("app/b", "2"))
      return e;
    return tx.put("other", "3");
  }));
  auto scanned = engine->meta_scan(jurisdiction::eu, "app/");
  BOOST_REQUIRE(scanned);
  BOOST_REQUIRE_EQUAL(scanned->size(), 2u);
  BOOST_CHECK_EQUAL(scanned->at(1).first, "app/b");
  BOOST_CHECK_EQUAL(scanned->at(1).second, "2");
  // Nothing of another environment leaks in, and absent ones read empty.
  BOOST_CHECK(engine->meta_scan(jurisdiction::none, "")->empty());
}

BOOST_AUTO_TEST_CASE(read_only_engines_read_but_never_write) {
  temp_dir dir;
  {
    auto engine = raw_engine(dir.path);
    BOOST_REQUIRE(*engine->namespace_number(jurisdiction::none, "k"));
    BOOST_REQUIRE(!engine->update(
        jurisdiction::none, [](auto& tx) { return tx.put("app/x", "1"); }));
  }
  durable::storage_options opts;
  opts.data_dir = dir.path;
  opts.read_only = true;
  auto ro = durable::storage_engine::open(opts);
  BOOST_REQUIRE(ro);
  auto& engine = **ro;
  BOOST_CHECK(engine.read_only());
  BOOST_CHECK_EQUAL(**engine.meta_get(jurisdiction::none, "app/x"), "1");
  BOOST_CHECK_EQUAL(**engine.find_namespace_number(jurisdiction::none, "k"),
                    1u);
  BOOST_CHECK(!*engine.find_namespace_number(jurisdiction::none, "other"));
  auto refused = engine.update(jurisdiction::none,
                               [](auto& tx) { return tx.put("app/y", "1"); });
  BOOST_CHECK(durable::is(refused, errc::unavailable));
  BOOST_CHECK(!engine.namespace_number(jurisdiction::none, "new-key"));
  BOOST_CHECK(!engine.writer(jurisdiction::none));
  // Missing environments are neither created nor opened.
  BOOST_CHECK(!engine.open_object(jurisdiction::eu, 1, {}));
  BOOST_CHECK(!std::filesystem::exists(dir.path + "/eu"));
  durable::namespace_registry reg{
      std::shared_ptr<durable::storage_engine>{std::move(*ro)}};
  BOOST_CHECK(reg.list());
  BOOST_CHECK(!reg.ensure("x", ""));
  opts.data_dir = dir.path + "/missing";
  BOOST_CHECK(!durable::storage_engine::open(opts));
}

BOOST_AUTO_TEST_CASE(duplicate_member_check_scales) {
  // 200 000 members: a linear lookup per member took about a minute (and
  // nlohmann::ordered_json's would). The bound is generous, not a speed goal:
  // it tells linear from quadratic. CPU time, not wall time, so that a busy
  // machine does not count (about 0.3 s here, 1.2 s under ASan).
  std::string text = "{";
  for (int i = 0; i < 200'000; ++i)
    text += "\"m" + std::to_string(i) + "\":0,";
  text += "\"m123456\":1}";
  auto start = std::clock();
  auto res = durable::parse_migrations(text);
  auto cpu_seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  BOOST_CHECK_LT(cpu_seconds, 10.0);
  BOOST_REQUIRE(!res);
  BOOST_CHECK_MESSAGE(
      durable::message_of(res.error()).find("duplicate member \"m123456\"") !=
          std::string::npos,
      durable::message_of(res.error()));
}

BOOST_AUTO_TEST_CASE(new_environments_sync_their_directories) {
  // What this proves: the directory syncs are on the creation path (the
  // hook sees the calls, which then fsync). It cannot prove that an entry
  // survives a power cut.
  std::vector<std::string> synced;
  durable::detail::set_sync_directory_hook(
      [&](const std::string& dir) { synced.push_back(dir); });
  temp_dir dir;
  {
    auto engine = raw_engine(dir.path);
    BOOST_REQUIRE(engine->namespace_number(jurisdiction::eu, "k"));
  }
  auto after_create = synced;
  {
    auto engine = raw_engine(dir.path);
    BOOST_REQUIRE(engine->namespace_number(jurisdiction::eu, "k"));
  }
  durable::detail::set_sync_directory_hook(nullptr);
  // The data directory (new entry "eu") and the environment's directory
  // (data.mdb, lock.mdb, the marker), once each, not again on reopening.
  std::vector<std::string> expected{dir.path, dir.path + "/eu"};
  BOOST_CHECK_EQUAL_COLLECTIONS(after_create.begin(), after_create.end(),
                                expected.begin(), expected.end());
  BOOST_CHECK_EQUAL(synced.size(), after_create.size());
  BOOST_CHECK(std::filesystem::exists(dir.path + "/eu/initialised"));
}

BOOST_AUTO_TEST_CASE(lost_data_files_are_not_recreated_empty) {
  temp_dir dir;
  {
    auto engine = raw_engine(dir.path);
    BOOST_REQUIRE(!engine->update(
        jurisdiction::eu, [](auto& tx) { return tx.put("app/x", "1"); }));
  }
  auto file = dir.path + "/eu/data.mdb";
  std::filesystem::resize_file(file, 0);
  {
    auto engine = raw_engine(dir.path);
    auto res = engine->meta_get(jurisdiction::eu, "app/x");
    BOOST_REQUIRE(!res);
    BOOST_CHECK(durable::is(res.error(), errc::storage_failure));
    BOOST_CHECK(durable::message_of(res.error()).find("is empty although") !=
                std::string::npos);
  }
  std::filesystem::remove(file);
  {
    auto engine = raw_engine(dir.path);
    auto res = engine->namespace_number(jurisdiction::eu, "k");
    BOOST_REQUIRE(!res);
    BOOST_CHECK(durable::message_of(res.error()).find("is missing") !=
                std::string::npos);
  }
}
