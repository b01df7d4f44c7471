#define BOOST_TEST_MODULE storage
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"
#include "lmdb_env.hpp"
#include "storage_fixture.hpp"

using namespace durable;
using namespace std::string_literals;

namespace {

object_bytes make_id(uint8_t x) {
  object_bytes id;
  id.fill(x);
  return id;
}

struct fixture : test::engine_fixture {
  fixture() : engine_fixture("durable-storage") { reopen(); }

  object_storage open(uint8_t id, jurisdiction j = jurisdiction::none,
                      uint32_t ns = 1) {
    auto res = engine->open_object(j, ns, make_id(id));
    BOOST_REQUIRE(res);
    return std::move(*res);
  }

  // Seals the current turn of `st`, commits it and reports back.
  caf::error commit(object_storage& st) {
    auto ws = st.end_turn();
    if (ws.empty())
      return caf::none;
    auto seq = ws.seq();
    auto err = submit_wait(std::move(ws));
    if (err)
      st.failed(err);
    else
      st.committed(seq);
    return err;
  }
};

void check_error(const caf::error& err, errc code, const std::string& text) {
  BOOST_REQUIRE(err);
  BOOST_CHECK(is(err, code));
  BOOST_CHECK_EQUAL(message_of(err), text);
}

template <class T>
void check_error(const caf::expected<T>& res, errc code,
                 const std::string& text) {
  BOOST_REQUIRE(!res);
  check_error(res.error(), code, text);
}

std::optional<std::string> get(object_storage& st, std::string_view key) {
  auto res = st.get(key);
  BOOST_REQUIRE(res);
  return *res;
}

std::vector<std::string> keys_of(object_storage& st, list_options opts = {}) {
  auto res = st.list(opts);
  BOOST_REQUIRE(res);
  std::vector<std::string> result;
  for (auto& kv : *res)
    result.push_back(kv.first);
  return result;
}

using strings = std::vector<std::string>;

// A user type with an `inspect` overload, stored with put_value.
struct point {
  int32_t x = 0;
  std::string label;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& p) {
  return f(caf::meta::type_name("point"), p.x, p.label);
}

// Reads a whole file (raw LMDB data) into memory.
std::string slurp(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(storage, fixture)

BOOST_AUTO_TEST_CASE(put_get_remove) {
  auto st = open(1);
  BOOST_CHECK(!get(st, "a"));
  BOOST_CHECK(!st.put("a", "1"));
  BOOST_CHECK(!st.put("", "empty key"));
  BOOST_CHECK(!st.put("bin\0\xff"s, "\0x"s));
  BOOST_CHECK_EQUAL(*get(st, "a"), "1");
  BOOST_CHECK_EQUAL(*get(st, ""), "empty key");
  BOOST_CHECK_EQUAL(*get(st, "bin\0\xff"s), "\0x"s);
  BOOST_CHECK(!st.put({{"b", "2"}, {"c", "3"}, {"a", "1b"}}));
  auto many = st.get(strings{"a", "b", "x", "c"});
  BOOST_REQUIRE(many);
  BOOST_CHECK_EQUAL(many->size(), 3u);
  BOOST_CHECK_EQUAL(many->at("a"), "1b");
  BOOST_CHECK(!commit(st));
  // Committed state, seen through LMDB.
  BOOST_CHECK_EQUAL(*get(st, "c"), "3");
  BOOST_CHECK_EQUAL(*st.remove("c"), true);
  BOOST_CHECK_EQUAL(*st.remove("c"), false);
  BOOST_CHECK_EQUAL(*st.remove("never"), false);
  BOOST_CHECK_EQUAL(*st.remove(strings{"a", "b", "a", "zz"}), 2u);
  BOOST_CHECK(!get(st, "a"));
  BOOST_CHECK(!commit(st));
  BOOST_CHECK((keys_of(st) == strings{"", "bin\0\xff"s}));
  // Another object of the same namespace sees nothing of it.
  auto other = open(2);
  BOOST_CHECK(keys_of(other).empty());
  // Nor does the same object bytes in another namespace.
  auto other_ns = open(1, jurisdiction::none, 2);
  BOOST_CHECK(keys_of(other_ns).empty());
}

BOOST_AUTO_TEST_CASE(limits_and_error_texts) {
  auto st = open(1);
  BOOST_CHECK(!st.put("keep", "v"));
  std::string key2048(2048, 'k');
  std::string key2049(2049, 'k');
  std::string value_max(131072, 'v');
  std::string value_big(131073, 'v');
  BOOST_CHECK(!st.put(key2048, value_max));
  BOOST_CHECK_EQUAL(get(st, key2048)->size(), 131072u);
  auto key_text = "Keys cannot be larger than 2048 bytes. A key of size 2049 "
                  "was provided.";
  auto value_text = "Values cannot be larger than 131072 bytes. A value of "
                    "size 131073 was provided.";
  check_error(st.put(key2049, "v"), errc::invalid_argument, key_text);
  check_error(st.put("k", value_big), errc::invalid_argument, value_text);
  check_error(st.get(key2049), errc::invalid_argument, key_text);
  check_error(st.remove(key2049), errc::invalid_argument, key_text);
  check_error(st.get(strings{"a", key2049}), errc::invalid_argument, key_text);
  // A batch with one bad entry writes nothing.
  check_error(st.put({{"x1", "1"}, {"x2", value_big}, {"x3", "3"}}),
              errc::invalid_argument, value_text);
  BOOST_CHECK(!get(st, "x1"));
  BOOST_CHECK(!get(st, "x3"));
  std::vector<object_storage::key_value> entries;
  strings keys;
  for (int i = 0; i < 129; ++i) {
    entries.emplace_back("k" + std::to_string(i), "v");
    keys.push_back("k" + std::to_string(i));
  }
  auto count_text = "Maximum number of key value pairs is 128. 129 pairs were "
                    "provided.";
  check_error(st.put(entries), errc::invalid_argument, count_text);
  check_error(st.get(keys), errc::invalid_argument, count_text);
  check_error(st.remove(keys), errc::invalid_argument, count_text);
  BOOST_CHECK(!get(st, "k0"));
  entries.pop_back();
  keys.pop_back();
  BOOST_CHECK(!st.put(entries));
  BOOST_CHECK_EQUAL(st.get(keys)->size(), 128u);
  BOOST_CHECK_EQUAL(*st.remove(keys), 128u);
  list_options both;
  both.start = "a";
  both.start_after = "b";
  check_error(st.list(both), errc::invalid_argument,
              "list() cannot be called with both start and startAfter "
              "values.");
  for (int64_t limit : {0, -1}) {
    list_options opts;
    opts.limit = limit;
    check_error(st.list(opts), errc::invalid_argument,
                "List limit must be positive.");
  }
  for (int64_t t : {0, -5}) {
    check_error(st.set_alarm(t), errc::invalid_argument,
                "setAlarm() cannot be called with an alarm time <= 0");
  }
  BOOST_CHECK(!*st.get_alarm());
  BOOST_CHECK((keys_of(st) == strings{"keep", key2048}));
}

BOOST_AUTO_TEST_CASE(list_options_semantics) {
  auto st = open(1);
  strings all{"",   "a",  "a\0"s, "a\xff"s, "a\xff\xff"s, "ab",       "b",
              "ba", "bb", "c",    "\x80"s,  "\xff"s,      "\xff\xff"s};
  // Half committed, half pending: the merge must not matter.
  for (size_t i = 0; i < all.size(); i += 2)
    BOOST_CHECK(!st.put(all[i], "v" + all[i]));
  BOOST_CHECK(!commit(st));
  for (size_t i = 1; i < all.size(); i += 2)
    BOOST_CHECK(!st.put(all[i], "v" + all[i]));
  auto sorted = all;
  std::sort(sorted.begin(), sorted.end());
  BOOST_CHECK(keys_of(st) == sorted);
  auto res = st.list();
  BOOST_REQUIRE(res);
  for (auto& [k, v] : *res)
    BOOST_CHECK_EQUAL(v, "v" + k);
  auto list = [&](auto setup) {
    list_options opts;
    setup(opts);
    return keys_of(st, opts);
  };
  BOOST_CHECK((list([](auto& o) { o.start = "b"; }) ==
               strings{"b", "ba", "bb", "c", "\x80", "\xff", "\xff\xff"}));
  BOOST_CHECK((list([](auto& o) { o.start_after = "b"; }) ==
               strings{"ba", "bb", "c", "\x80", "\xff", "\xff\xff"}));
  BOOST_CHECK((list([](auto& o) { o.end = "a\xff"; }) ==
               strings{"", "a", "a\0"s, "ab"}));
  BOOST_CHECK((list([](auto& o) { o.prefix = "a"; }) ==
               strings{"a", "a\0"s, "ab", "a\xff", "a\xff\xff"}));
  BOOST_CHECK((list([](auto& o) { o.prefix = "a\xff"; }) ==
               strings{"a\xff", "a\xff\xff"}));
  BOOST_CHECK((list([](auto& o) { o.prefix = "\xff"; }) ==
               strings{"\xff", "\xff\xff"}));
  BOOST_CHECK((list([](auto& o) { o.prefix = "zz"; }) == strings{}));
  BOOST_CHECK((list([](auto& o) {
                 o.start = "a\0"s;
                 o.end = "b";
                 o.reverse = true;
               }) == strings{"a\xff\xff", "a\xff", "ab", "a\0"s}));
  BOOST_CHECK((list([](auto& o) {
                 o.reverse = true;
                 o.limit = 3;
               }) == strings{"\xff\xff", "\xff", "\x80"}));
  BOOST_CHECK((list([](auto& o) {
                 o.start_after = "a";
                 o.limit = 2;
               }) == strings{"a\0"s, "ab"}));
  BOOST_CHECK((list([](auto& o) {
                 o.prefix = "b";
                 o.start_after = "b";
                 o.reverse = true;
               }) == strings{"bb", "ba"}));
  BOOST_CHECK((list([](auto& o) {
                 o.prefix = "b";
                 o.start = "a";
                 o.end = "bb";
               }) == strings{"b", "ba"}));
  BOOST_CHECK((list([](auto& o) {
                 o.start = "c";
                 o.end = "b";
               }) == strings{}));
  BOOST_CHECK((list([](auto& o) {
                 o.start = "b";
                 o.end = "b";
               }) == strings{}));
  BOOST_CHECK((list([](auto& o) { o.limit = 1; }) == strings{""}));
}

BOOST_AUTO_TEST_CASE(read_your_writes_across_inflight_turns) {
  {
    auto st = open(1);
    BOOST_CHECK(!st.put("x", "0"));
    BOOST_CHECK(!st.put("gone", "0"));
    BOOST_CHECK(!commit(st));
    BOOST_CHECK(!st.put("x", "1"));
    BOOST_CHECK_EQUAL(*get(st, "x"), "1"); // within the turn
    auto ws1 = st.end_turn();
    BOOST_CHECK_EQUAL(ws1.seq(), 2u);
    BOOST_CHECK_EQUAL(*get(st, "x"), "1"); // sealed, not yet committed
    BOOST_CHECK(!st.put("x", "2"));
    BOOST_CHECK(!st.put("y", "2"));
    BOOST_CHECK_EQUAL(*st.remove("gone"), true);
    auto ws2 = st.end_turn();
    BOOST_CHECK_EQUAL(ws2.seq(), 3u);
    BOOST_CHECK(st.has_pending());
    BOOST_CHECK_EQUAL(st.last_sealed(), 3u);
    BOOST_CHECK((keys_of(st) == strings{"x", "y"}));
    // The older commit must not unmask the newer pending write.
    BOOST_CHECK(!submit_wait(std::move(ws1)));
    st.committed(2);
    BOOST_CHECK_EQUAL(*get(st, "x"), "2");
    BOOST_CHECK(!get(st, "gone"));
    BOOST_CHECK(!submit_wait(std::move(ws2)));
    st.committed(3);
    BOOST_CHECK(!st.has_pending());
    BOOST_CHECK_EQUAL(st.last_committed(), 3u);
    BOOST_CHECK_EQUAL(*get(st, "x"), "2");
    BOOST_CHECK((keys_of(st) == strings{"x", "y"}));
    // An in-flight delete_all hides the committed state until it commits.
    BOOST_CHECK(!st.set_alarm(5000));
    BOOST_CHECK(!commit(st));
    BOOST_CHECK(!st.delete_all());
    auto ws3 = st.end_turn();
    BOOST_CHECK(!get(st, "x"));
    BOOST_CHECK(!*st.get_alarm());
    BOOST_CHECK(!st.put("after", "1"));
    auto ws4 = st.end_turn();
    BOOST_CHECK((keys_of(st) == strings{"after"}));
    auto seq4 = ws4.seq();
    BOOST_CHECK_EQUAL(seq4, 6u);
    BOOST_CHECK(!submit_wait(std::move(ws3)));
    BOOST_CHECK(!submit_wait(std::move(ws4)));
    st.committed(seq4);
    BOOST_CHECK((keys_of(st) == strings{"after"}));
  } // storages release the environments before the reopen
  reopen();
  auto again = open(1);
  BOOST_CHECK((keys_of(again) == strings{"after"}));
  BOOST_CHECK(!*again.get_alarm());
}

BOOST_AUTO_TEST_CASE(discard_turn_and_empty_turns) {
  auto st = open(1);
  BOOST_CHECK(!st.put("a", "1"));
  BOOST_CHECK(!commit(st));
  BOOST_CHECK(!st.turn_dirty());
  BOOST_CHECK(st.end_turn().empty());
  BOOST_CHECK(!st.put("a", "2"));
  BOOST_CHECK(!st.put("b", "2"));
  BOOST_CHECK(!st.set_alarm(10));
  BOOST_CHECK(st.turn_dirty());
  st.discard_turn();
  BOOST_CHECK(!st.turn_dirty());
  BOOST_CHECK_EQUAL(*get(st, "a"), "1");
  BOOST_CHECK(!get(st, "b"));
  BOOST_CHECK(!*st.get_alarm());
  BOOST_CHECK(st.end_turn().empty());
  // Deleting an absent key writes nothing.
  BOOST_CHECK_EQUAL(*st.remove("zz"), false);
  BOOST_CHECK(st.end_turn().empty());
  BOOST_CHECK_EQUAL(st.last_sealed(), 1u);
}

BOOST_AUTO_TEST_CASE(transactions_roll_back) {
  auto st = open(1);
  BOOST_CHECK(!st.put("a", "1"));
  BOOST_CHECK(!st.set_alarm(100));
  BOOST_CHECK_THROW(st.transaction([&] {
    BOOST_CHECK(st.in_transaction());
    BOOST_CHECK(!st.put("a", "2"));
    BOOST_CHECK(!st.put("b", "2"));
    BOOST_CHECK(!st.set_alarm(200));
    BOOST_CHECK_EQUAL(*get(st, "a"), "2");
    throw std::runtime_error("boom");
  }),
                    std::runtime_error);
  BOOST_CHECK(!st.in_transaction());
  BOOST_CHECK_EQUAL(*get(st, "a"), "1");
  BOOST_CHECK(!get(st, "b"));
  BOOST_CHECK_EQUAL(**st.get_alarm(), 100);
  // Nested: the inner rollback undoes only the inner writes.
  auto n = st.transaction([&] {
    BOOST_CHECK(!st.put("outer", "1"));
    try {
      st.transaction([&] {
        BOOST_CHECK(!st.put("inner", "1"));
        BOOST_CHECK(*st.remove("a"));
        throw 42;
      });
    } catch (int) {
      // expected
    }
    return 7;
  });
  BOOST_CHECK_EQUAL(n, 7);
  BOOST_CHECK_EQUAL(*get(st, "outer"), "1");
  BOOST_CHECK(!get(st, "inner"));
  BOOST_CHECK_EQUAL(*get(st, "a"), "1");
  // An error returned as a value rolls back as well.
  auto err = st.transaction([&]() -> caf::error {
    BOOST_CHECK(!st.put("c", "1"));
    return make_error(errc::invalid_argument, "nope");
  });
  BOOST_CHECK(err);
  BOOST_CHECK(!get(st, "c"));
  auto ok = st.transaction([&]() -> caf::expected<int> {
    BOOST_CHECK(!st.put("d", "1"));
    return 1;
  });
  BOOST_CHECK(ok);
  BOOST_CHECK_EQUAL(*get(st, "d"), "1");
  // delete_all is refused inside and leaves everything as it was.
  st.transaction([&] {
    check_error(st.delete_all(), errc::invalid_argument,
                "Cannot call deleteAll() within a transaction");
  });
  BOOST_CHECK_EQUAL(*get(st, "a"), "1");
  BOOST_CHECK_EQUAL(**st.get_alarm(), 100);
  BOOST_CHECK(!commit(st));
  BOOST_CHECK((keys_of(st) == strings{"a", "d", "outer"}));
}

BOOST_AUTO_TEST_CASE(delete_all_removes_alarm) {
  {
    auto st = open(1);
    BOOST_CHECK(!st.put("a", "1"));
    BOOST_CHECK(!st.put(std::string(1000, 'L'), "long"));
    BOOST_CHECK(!st.set_alarm(1234));
    BOOST_CHECK(!commit(st));
    auto keep = open(2);
    BOOST_CHECK(!keep.put("a", "other"));
    BOOST_CHECK(!keep.set_alarm(999));
    BOOST_CHECK(!commit(keep));
    BOOST_CHECK(!st.delete_all());
    BOOST_CHECK(!*st.get_alarm());
    BOOST_CHECK(keys_of(st).empty());
    BOOST_CHECK(!commit(st));
    auto due = engine->all_alarms(jurisdiction::none);
    BOOST_REQUIRE(due);
    BOOST_REQUIRE_EQUAL(due->size(), 1u);
    BOOST_CHECK(due->front().object == make_id(2));
  } // storages release the environments before the reopen
  reopen();
  auto again = open(1);
  BOOST_CHECK(keys_of(again).empty());
  BOOST_CHECK(!*again.get_alarm());
  auto other = open(2);
  BOOST_CHECK_EQUAL(*get(other, "a"), "other");
  BOOST_CHECK_EQUAL(**other.get_alarm(), 999);
}

BOOST_AUTO_TEST_CASE(alarms_and_due_scan) {
  {
    BOOST_CHECK(engine->due_alarms(jurisdiction::eu, 1000, 10)->empty());
    std::vector<std::pair<uint8_t, int64_t>> alarms{
        {1, 500}, {2, 100}, {3, 300}, {4, 300}, {5, 900}};
    for (auto [id, t] : alarms) {
      auto st = open(id, jurisdiction::none, 7);
      BOOST_CHECK(!st.set_alarm(t));
      BOOST_CHECK_EQUAL(**st.get_alarm(), t); // pending
      BOOST_CHECK(!commit(st));
      BOOST_CHECK_EQUAL(**st.get_alarm(), t); // committed
    }
    auto eu = open(9, jurisdiction::eu, 7);
    BOOST_CHECK(!eu.set_alarm(50));
    BOOST_CHECK(!commit(eu));
    // Move one alarm, delete another.
    auto st1 = open(1, jurisdiction::none, 7);
    BOOST_CHECK(!st1.set_alarm(50));
    BOOST_CHECK(!commit(st1));
    auto st5 = open(5, jurisdiction::none, 7);
    BOOST_CHECK(!st5.delete_alarm());
    BOOST_CHECK(!*st5.get_alarm());
    BOOST_CHECK(!commit(st5));
    BOOST_CHECK(!*st5.get_alarm());
    auto due = engine->due_alarms(jurisdiction::none, 300, 10);
    BOOST_REQUIRE(due);
    BOOST_REQUIRE_EQUAL(due->size(), 4u);
    BOOST_CHECK((due->at(0).object == make_id(1)) && due->at(0).time == 50);
    BOOST_CHECK(due->at(1).object == make_id(2));
    BOOST_CHECK(due->at(2).object == make_id(3));
    BOOST_CHECK(due->at(3).object == make_id(4));
    for (auto& x : *due)
      BOOST_CHECK_EQUAL(x.namespace_number, 7u);
    BOOST_CHECK_EQUAL(engine->due_alarms(jurisdiction::none, 300, 2)->size(),
                      2u);
    BOOST_CHECK_EQUAL(engine->due_alarms(jurisdiction::none, 49, 10)->size(),
                      0u);
    BOOST_CHECK_EQUAL(engine->all_alarms(jurisdiction::none)->size(), 4u);
    BOOST_CHECK_EQUAL(**engine->next_alarm_time(jurisdiction::none), 50);
    auto eu_alarms = engine->all_alarms(jurisdiction::eu);
    BOOST_REQUIRE(eu_alarms);
    BOOST_REQUIRE_EQUAL(eu_alarms->size(), 1u);
    BOOST_CHECK(eu_alarms->front().object == make_id(9));
    BOOST_CHECK(!*engine->next_alarm_time(jurisdiction::us));
    // Alarms survive a restart.
  } // storages release the environments before the reopen
  reopen();
  BOOST_CHECK_EQUAL(engine->all_alarms(jurisdiction::none)->size(), 4u);
  BOOST_CHECK_EQUAL(**open(3, jurisdiction::none, 7).get_alarm(), 300);
}

BOOST_AUTO_TEST_CASE(namespace_numbers_are_stable) {
  auto a = engine->namespace_number(jurisdiction::none, "counter");
  auto b = engine->namespace_number(jurisdiction::none, "chat");
  BOOST_REQUIRE(a && b);
  BOOST_CHECK_NE(*a, *b);
  BOOST_CHECK_EQUAL(*engine->namespace_number(jurisdiction::none, "counter"),
                    *a);
  auto eu = engine->namespace_number(jurisdiction::eu, "chat");
  BOOST_REQUIRE(eu);
  check_error(
      engine->namespace_number(jurisdiction::none, std::string(401, 'n')),
      errc::invalid_argument, "namespace keys cannot be larger than 400 bytes");
  reopen();
  BOOST_CHECK_EQUAL(*engine->namespace_number(jurisdiction::none, "chat"), *b);
  BOOST_CHECK_EQUAL(*engine->namespace_number(jurisdiction::none, "counter"),
                    *a);
  auto c = engine->namespace_number(jurisdiction::none, "new");
  BOOST_REQUIRE(c);
  BOOST_CHECK(*c != *a && *c != *b);
  BOOST_CHECK_EQUAL(*engine->namespace_number(jurisdiction::eu, "chat"), *eu);
}

BOOST_AUTO_TEST_CASE(data_survives_reopen) {
  std::string long_a = std::string(1000, 'p') + "a";
  std::string long_b = std::string(1000, 'p') + "b";
  {
    auto st = open(1, jurisdiction::none, 3);
    BOOST_CHECK(!st.put("short", "1"));
    BOOST_CHECK(!st.put(long_b, "B"));
    BOOST_CHECK(!st.put(long_a, "A"));
    BOOST_CHECK(!st.put(std::string(1000, 'p'), "P"));
    BOOST_CHECK(!commit(st));
  }
  reopen();
  auto st = open(1, jurisdiction::none, 3);
  BOOST_CHECK((keys_of(st) ==
               strings{std::string(1000, 'p'), long_a, long_b, "short"}));
  BOOST_CHECK_EQUAL(*get(st, long_a), "A");
  BOOST_CHECK_EQUAL(*get(st, long_b), "B");
  // The engine refuses to open a directory another engine holds.
  storage_options opts;
  opts.data_dir = dir;
  auto second = storage_engine::open(opts);
  BOOST_REQUIRE(second);
  auto clash = (*second)->open_object(jurisdiction::none, 3, make_id(1));
  BOOST_REQUIRE(!clash);
  BOOST_CHECK(is(clash.error(), errc::unavailable));
}

BOOST_AUTO_TEST_CASE(jurisdiction_isolation_in_files) {
  const std::string eu_key = "EU-ONLY-KEY-7f3a9c";
  const std::string eu_value = "EU-ONLY-VALUE-c41d2e";
  const std::string eu_long = std::string(900, 'E') + "EU-LONG-TAIL-91b2";
  auto eu = open(1, jurisdiction::eu);
  BOOST_CHECK(!eu.put(eu_key, eu_value));
  BOOST_CHECK(!eu.put(eu_long, eu_value));
  BOOST_CHECK(!commit(eu));
  auto global = open(1, jurisdiction::none);
  BOOST_CHECK(!global.put("GLOBAL-KEY-55aa", "GLOBAL-VALUE-66bb"));
  BOOST_CHECK(!commit(global));
  // Same object bytes, different jurisdiction: nothing shared.
  BOOST_CHECK(!get(global, eu_key));
  BOOST_CHECK_EQUAL(*get(eu, eu_key), eu_value);
  engine.reset(); // close the files
  namespace fs = std::filesystem;
  BOOST_CHECK(fs::exists(dir + "/eu/data.mdb"));
  BOOST_CHECK(fs::exists(dir + "/global/data.mdb"));
  BOOST_CHECK(!fs::exists(dir + "/fedramp"));
  bool eu_seen = false;
  for (auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    auto bytes = slurp(entry.path());
    bool inside_eu = entry.path().parent_path() == fs::path(dir) / "eu";
    for (auto& marker : {eu_key, eu_value, std::string{"EU-LONG-TAIL-91b2"}}) {
      bool found = bytes.find(marker) != std::string::npos;
      if (inside_eu)
        eu_seen = eu_seen || found;
      else
        BOOST_CHECK_MESSAGE(!found, marker << " leaked into " << entry.path());
    }
    if (!inside_eu && entry.path().filename() == "data.mdb")
      BOOST_CHECK(bytes.find("GLOBAL-VALUE-66bb") != std::string::npos);
  }
  BOOST_CHECK(eu_seen); // the search does find markers where they belong
}

BOOST_AUTO_TEST_CASE(typed_values) {
  auto st = open(1);
  BOOST_CHECK(!st.put_value<int64_t>("n", -42));
  BOOST_CHECK(!st.put_value("s", std::string{"hello"}));
  BOOST_CHECK(!st.put_value("v", std::vector<int32_t>{1, 2, 3}));
  BOOST_CHECK(!st.put_value("p", point{-3, "origin"}));
  BOOST_CHECK(!commit(st));
  BOOST_CHECK_EQUAL(**st.get_value<int64_t>("n"), -42);
  BOOST_CHECK_EQUAL(**st.get_value<std::string>("s"), "hello");
  BOOST_CHECK((**st.get_value<std::vector<int32_t>>("v") ==
               std::vector<int32_t>{1, 2, 3}));
  auto p = st.get_value<point>("p");
  BOOST_REQUIRE(p && *p);
  BOOST_CHECK_EQUAL((*p)->x, -3);
  BOOST_CHECK_EQUAL((*p)->label, "origin");
  BOOST_CHECK(!*st.get_value<int64_t>("missing"));
  // Reading a string as an int32 leaves bytes over: an error, not garbage.
  BOOST_CHECK(!st.get_value<int32_t>("s"));
}

BOOST_AUTO_TEST_CASE(needs_confirmation_follows_allow_unconfirmed) {
  auto st = open(1);
  write_options unconfirmed{true};
  BOOST_CHECK(!st.put("a", "1", unconfirmed));
  BOOST_CHECK(!st.set_alarm(5, unconfirmed));
  auto ws = st.end_turn();
  BOOST_CHECK(!ws.needs_confirmation());
  BOOST_CHECK_EQUAL(ws.size(), 1u);
  BOOST_CHECK(!submit_wait(ws));
  st.committed(ws.seq());
  BOOST_CHECK(!st.put("a", "2", unconfirmed));
  BOOST_CHECK(!st.put("b", "2"));
  auto ws2 = st.end_turn();
  BOOST_CHECK(ws2.needs_confirmation());
  BOOST_CHECK(!submit_wait(ws2));
  st.committed(ws2.seq());
}

// Issue 9, item 12: a full reader table is a retryable condition (every
// reader frees its slot soon), not a storage failure.
BOOST_AUTO_TEST_CASE(a_full_reader_table_is_retryable) {
  engine.reset(); // LMDB allows one handle per environment and process
  storage_options opts;
  opts.max_readers = 1; // LMDB rounds this up to fill the lock file's page
  auto env =
      detail::environment::open(jurisdiction::none, dir + "/readers", opts);
  BOOST_REQUIRE(env);
  auto& e = **env;
  unsigned slots = 0;
  BOOST_REQUIRE_EQUAL(mdb_env_get_maxreaders(e.handle(), &slots), 0);
  BOOST_REQUIRE_LT(slots, 512u);
  // Occupy every slot with a read transaction held open on its own thread.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<unsigned> holding{0};
  std::atomic<unsigned> failed{0};
  std::vector<std::thread> readers;
  for (unsigned i = 0; i < slots; ++i)
    readers.emplace_back([&] {
      auto err = e.read("hold", [&](MDB_txn*) {
        ++holding;
        released.wait();
        return 0;
      });
      if (err)
        ++failed; // Boost.Test checks are not thread-safe
    });
  while (holding.load() + failed.load() < slots)
    std::this_thread::yield();
  auto err = e.read("get", [](MDB_txn*) { return 0; });
  release.set_value();
  for (auto& t : readers)
    t.join();
  BOOST_REQUIRE_EQUAL(failed.load(), 0u);
  BOOST_REQUIRE(err);
  BOOST_CHECK_MESSAGE(is(err, errc::unavailable), message_of(err));
  BOOST_CHECK(is_retryable(err));
  BOOST_CHECK_NE(message_of(err).find("reader slot"), std::string::npos);
  // Once the readers are done, reading works again.
  BOOST_CHECK(!e.read("get", [](MDB_txn*) { return 0; }));
}

BOOST_AUTO_TEST_SUITE_END()
