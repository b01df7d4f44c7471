// The namespace registry shared through etcd: real etcd (the Debian binary)
// and real durable-admin processes, each mirroring into its own data
// directory. Migrations applied by several writers at once are each applied
// exactly once, in one order, with the same namespace IDs everywhere; a tag
// defined differently is refused; a data directory with migrations of its
// own cannot join.

#define BOOST_TEST_MODULE shared_registry
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "durable/etcd_registry.hpp"
#include "etcd_harness.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::string temp_root() {
  static std::string root = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("durable-shared-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
  }();
  return root;
}

/// A fresh directory under the test's root.
std::string fresh_dir(const std::string& name) {
  auto dir = temp_root() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct fixture {
  durable::test::etcd_cluster etcd{1};

  /// Runs durable-admin with `args`, its output under `dir`.
  test::run_result admin(std::vector<std::string> args,
                         const std::string& dir) {
    args.insert(args.begin(), ADMIN_BINARY);
    std::filesystem::create_directories(dir);
    return test::run_process(std::move(args), dir, {}, 120);
  }

  /// durable-admin on the shared registry of `cluster`, mirroring into
  /// `data_dir`.
  test::run_result shared(const std::string& cluster,
                          const std::string& data_dir,
                          std::vector<std::string> args,
                          const std::string& out_dir) {
    args.insert(args.begin(),
                {"--etcd-endpoints=" + etcd.endpoint(0), "--cluster=" + cluster,
                 "--data-dir=" + data_dir, "--json"});
    return admin(std::move(args), out_dir);
  }

  /// The registry log of `cluster` as etcd holds it.
  std::vector<durable::registry_entry> log_of(const std::string& cluster) {
    auto log =
        durable::cluster::etcd_registry_log({etcd.endpoint(0)}, 5s, cluster);
    BOOST_REQUIRE(log);
    auto got = (*log)->read(0);
    BOOST_REQUIRE_MESSAGE(got, "reading the log failed");
    BOOST_REQUIRE_EQUAL(got->head.sequence, got->entries.size());
    return std::move(got->entries);
  }
};

/// 30 migrations: v01 creates k1, ...; every fifth also renames the class
/// before it, every seventh deletes the class before it.
std::string migration_file(const std::string& dir) {
  auto list = json::array();
  for (int i = 1; i <= 30; ++i) {
    char tag[8];
    std::snprintf(tag, sizeof(tag), "v%02d", i);
    json m{{"tag", tag}, {"new_classes", {"k" + std::to_string(i)}}};
    auto before = "k" + std::to_string(i - 1);
    if (i % 5 == 0)
      m["renamed_classes"] = {{{"from", before}, {"to", "r" + before}}};
    if (i % 7 == 0)
      m["deleted_classes"] = {before};
    list.push_back(m);
  }
  auto path = dir + "/migrations.json";
  std::ofstream{path} << list;
  return path;
}

std::set<std::string> tags_in(const json& x) {
  std::set<std::string> result;
  for (auto& tag : x)
    result.insert(tag.get<std::string>());
  return result;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(shared_registry, fixture)

BOOST_AUTO_TEST_CASE(migrations_from_three_writers_apply_each_tag_once) {
  constexpr int writers = 3;
  for (int round = 0; round < 4; ++round) {
    auto cluster = "race" + std::to_string(round);
    auto root = fresh_dir(cluster);
    auto file = migration_file(root);
    std::vector<test::run_result> results(writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        auto name = "w" + std::to_string(w);
        results[w] = shared(cluster, root + "/" + name + "-data",
                            {"migrate", file}, root + "/" + name);
      });
    for (auto& t : threads)
      t.join();
    std::set<std::string> applied;
    size_t applied_count = 0;
    for (auto& r : results) {
      BOOST_REQUIRE_MESSAGE(r.code == 0, "a writer failed: " << r.err);
      auto out = json::parse(r.out);
      auto mine = tags_in(out["applied"]);
      auto skipped = tags_in(out["skipped"]);
      applied_count += mine.size();
      applied.insert(mine.begin(), mine.end());
      BOOST_CHECK_EQUAL(mine.size() + skipped.size(), 30u);
    }
    // Each tag applied by exactly one writer.
    BOOST_CHECK_EQUAL(applied.size(), 30u);
    BOOST_CHECK_EQUAL(applied_count, 30u);
    // The log holds each tag once, in the file's order.
    auto entries = log_of(cluster);
    BOOST_REQUIRE_EQUAL(entries.size(), 30u);
    for (size_t i = 0; i < entries.size(); ++i) {
      auto entry = json::parse(entries[i].text);
      char tag[8];
      std::snprintf(tag, sizeof(tag), "v%02d", static_cast<int>(i + 1));
      BOOST_CHECK_EQUAL(entry["migration"]["tag"].get<std::string>(), tag);
    }
    // Every mirror holds the same classes with the same IDs: 30 created, 4
    // deleted (v07, v14, v21, v28), 6 renamed.
    std::vector<json> lists;
    for (int w = 0; w < writers; ++w) {
      auto r = admin({"--data-dir=" + root + "/w" + std::to_string(w) + "-data",
                      "--json", "namespaces", "list", "--per-page=100"},
                     root + "/list" + std::to_string(w));
      BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
      lists.push_back(json::parse(r.out)["result"]);
    }
    BOOST_REQUIRE_EQUAL(lists[0].size(), 26u);
    for (int w = 1; w < writers; ++w)
      BOOST_CHECK_EQUAL(lists[w].dump(), lists[0].dump());
    std::set<std::string> names, ids;
    for (auto& rec : lists[0]) {
      names.insert(rec["name"].get<std::string>());
      ids.insert(rec["id"].get<std::string>());
    }
    BOOST_CHECK_EQUAL(ids.size(), 26u);
    BOOST_CHECK(names.count("rk4") == 1 && names.count("k4") == 0);
    BOOST_CHECK(names.count("k6") == 0 && names.count("k30") == 1);
  }
}

BOOST_AUTO_TEST_CASE(a_tag_defined_differently_is_refused) {
  auto root = fresh_dir("conflict");
  std::ofstream{root + "/a.json"}
      << R"([{"tag": "v1", "new_classes": ["alpha"]}])";
  std::ofstream{root + "/b.json"}
      << R"([{"tag": "v1", "new_classes": ["beta"]}])";
  auto a = shared("conflict", root + "/a-data", {"migrate", root + "/a.json"},
                  root + "/a");
  BOOST_REQUIRE_MESSAGE(a.code == 0, a.err);
  auto b = shared("conflict", root + "/b-data", {"migrate", root + "/b.json"},
                  root + "/b");
  BOOST_CHECK_EQUAL(b.code, 2);
  BOOST_CHECK_MESSAGE(b.err.find("migration \"v1\" differs from the one the "
                                 "shared registry") != std::string::npos,
                      b.err);
  // b's mirror has v1 as the log defines it; a's file is skipped there.
  auto again = shared("conflict", root + "/b-data",
                      {"migrate", root + "/a.json"}, root + "/b2");
  BOOST_REQUIRE_MESSAGE(again.code == 0, again.err);
  BOOST_CHECK_EQUAL(json::parse(again.out)["skipped"], json::array({"v1"}));
  auto list = shared("conflict", root + "/b-data", {"namespaces", "list"},
                     root + "/b3");
  BOOST_REQUIRE_MESSAGE(list.code == 0, list.err);
  auto result = json::parse(list.out)["result"];
  BOOST_REQUIRE_EQUAL(result.size(), 1u);
  BOOST_CHECK_EQUAL(result[0]["name"], "alpha");
  BOOST_CHECK_EQUAL(log_of("conflict").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_data_directory_with_its_own_migrations_cannot_join) {
  auto root = fresh_dir("own");
  std::ofstream{root + "/m.json"} << R"([{"tag": "v1", "new_classes": ["x"]}])";
  std::filesystem::create_directories(root + "/data");
  auto local =
      admin({"--data-dir=" + root + "/data", "migrate", root + "/m.json"},
            root + "/local");
  BOOST_REQUIRE_MESSAGE(local.code == 0, local.err);
  auto joined =
      shared("own", root + "/data", {"namespaces", "list"}, root + "/join");
  BOOST_CHECK_NE(joined.code, 0);
  BOOST_CHECK_MESSAGE(joined.err.find("migrations applied outside the shared "
                                      "registry") != std::string::npos,
                      joined.err);
  BOOST_CHECK(log_of("own").empty());
}

BOOST_AUTO_TEST_CASE(a_mirror_of_another_log_is_refused) {
  auto root = fresh_dir("other");
  std::ofstream{root + "/m.json"} << R"([{"tag": "v1", "new_classes": ["x"]}])";
  auto first = shared("other-a", root + "/data", {"migrate", root + "/m.json"},
                      root + "/a");
  BOOST_REQUIRE_MESSAGE(first.code == 0, first.err);
  // The same data directory against an empty log: it mirrored one entry
  // that this log does not have.
  auto second =
      shared("other-b", root + "/data", {"namespaces", "list"}, root + "/b");
  BOOST_CHECK_NE(second.code, 0);
  BOOST_CHECK_MESSAGE(
      second.err.find("mirrored 1 entries") != std::string::npos, second.err);
}

BOOST_AUTO_TEST_SUITE_END()
