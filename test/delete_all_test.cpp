// delete_all of large objects (issue 9, item 6): deleted in chunks over
// several commit rounds, so that other objects keep committing, yet atomic
// for the object as its reads and a crash see it.

#define BOOST_TEST_MODULE delete_all
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <lmdb.h>

#include "durable/errc.hpp"
#include "durable/storage_engine.hpp"
#include "storage_fixture.hpp"

using namespace durable;

namespace {

constexpr uint32_t ns = 1;

object_bytes make_id(uint8_t x) {
  object_bytes id;
  id.fill(x);
  return id;
}

std::string key_of(size_t i) {
  auto result = std::to_string(i);
  return std::string(8 - result.size(), '0') + result;
}

struct fixture : test::engine_fixture {
  fixture() : engine_fixture("durable-delete-all") {
    // nop
  }

  void reopen_with_chunk(size_t chunk) {
    storage_options opts;
    opts.delete_chunk_keys = chunk;
    reopen(opts);
  }

  object_storage open(uint8_t id) {
    auto res = engine->open_object(jurisdiction::none, ns, make_id(id));
    BOOST_REQUIRE(res);
    return std::move(*res);
  }

  /// Commits `n` keys to object `id`, 100 per turn.
  void fill(uint8_t id, size_t n) {
    auto st = open(id);
    for (size_t i = 0; i < n;) {
      std::vector<object_storage::key_value> batch;
      for (size_t j = 0; j < 100 && i < n; ++j, ++i)
        batch.emplace_back(key_of(i), "v");
      BOOST_REQUIRE(!st.put(batch));
      auto ws = st.end_turn();
      auto seq = ws.seq();
      BOOST_REQUIRE(!submit_wait(std::move(ws)));
      st.committed(seq);
    }
  }

  size_t count(uint8_t id) {
    auto xs = open(id).list();
    BOOST_REQUIRE(xs);
    return xs->size();
  }
};

/// Counts the kv entries of object `id` in the LMDB file itself (no engine
/// may have the environment open).
size_t raw_count(const std::string& dir, uint8_t id) {
  MDB_env* env = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  auto path = dir + "/global";
  BOOST_REQUIRE_EQUAL(mdb_env_open(env, path.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi kv;
  BOOST_REQUIRE_EQUAL(mdb_dbi_open(txn, "kv", 0, &kv), 0);
  std::string base(4, '\0');
  base[3] = static_cast<char>(ns);
  auto id_bytes = make_id(id);
  base.append(id_bytes.begin(), id_bytes.end());
  MDB_cursor* cursor = nullptr;
  BOOST_REQUIRE_EQUAL(mdb_cursor_open(txn, kv, &cursor), 0);
  MDB_val k{base.size(), base.data()};
  MDB_val v;
  size_t result = 0;
  for (auto rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size >= base.size() &&
       std::memcmp(k.mv_data, base.data(), base.size()) == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT))
    ++result;
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return result;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(delete_all, fixture)

BOOST_AUTO_TEST_CASE(large_delete_all_is_atomic_for_the_object) {
  reopen_with_chunk(100);
  fill(1, 5000);
  fill(2, 10);
  auto st = open(1);
  BOOST_REQUIRE(!st.delete_all());
  BOOST_REQUIRE(!st.put("new", "1"));
  auto ws = st.end_turn();
  auto seq = ws.seq();
  std::promise<caf::error> done;
  auto result = done.get_future();
  engine->submit(std::move(ws),
                 [&done](const caf::error& err) { done.set_value(err); });
  // While the deletion runs, the object sees exactly its new state ...
  auto during = st.list();
  BOOST_REQUIRE(during);
  BOOST_REQUIRE_EQUAL(during->size(), 1u);
  BOOST_CHECK_EQUAL(during->front().first, "new");
  BOOST_CHECK(!*st.get(key_of(4999)));
  BOOST_REQUIRE(!result.get());
  st.committed(seq);
  // ... and so does everyone after it.
  auto after = open(1).list();
  BOOST_REQUIRE(after);
  BOOST_REQUIRE_EQUAL(after->size(), 1u);
  BOOST_CHECK_EQUAL(after->front().first, "new");
  BOOST_CHECK_EQUAL(count(2), 10u);
  BOOST_CHECK_GE(writer().stats().delete_rounds, 50u);
  // Writes after the delete_all in later turns are kept too.
  BOOST_REQUIRE(!st.put("later", "2"));
  BOOST_REQUIRE(!submit_wait(st.end_turn()));
  BOOST_CHECK_EQUAL(count(1), 2u);
}

BOOST_AUTO_TEST_CASE(other_objects_commit_while_a_large_delete_all_runs) {
  reopen_with_chunk(100);
  fill(1, 20000);
  // Hold the writer so that the delete_all and the other object's write set
  // surely arrive in the same round: without chunking, both would commit in
  // one transaction and the deletion's completion would come first.
  std::promise<void> release;
  auto released = release.get_future().share();
  auto blocker = open(3);
  BOOST_REQUIRE(!blocker.put("b", "1"));
  engine->submit(blocker.end_turn(),
                 [released](const caf::error&) { released.wait(); });
  auto big = open(1);
  BOOST_REQUIRE(!big.delete_all());
  auto other = open(2);
  BOOST_REQUIRE(!other.put("x", "1"));
  std::atomic<bool> big_done{false};
  std::promise<bool> other_done;
  auto other_result = other_done.get_future();
  engine->submit(big.end_turn(), [&](const caf::error&) { big_done = true; });
  engine->submit(other.end_turn(), [&](const caf::error& err) {
    // Still deleting when the other object's commit is durable.
    other_done.set_value(!err && !big_done.load());
  });
  release.set_value();
  BOOST_CHECK(other_result.get());
  // A fresh instance (say, after a reset) sees the object as empty at once,
  // and its writes wait for the deletion instead of being deleted by it.
  auto fresh = open(1);
  BOOST_CHECK(!*fresh.get(key_of(19999)));
  auto listed = fresh.list();
  BOOST_REQUIRE(listed);
  BOOST_CHECK(listed->empty());
  BOOST_REQUIRE(!engine->flush()); // waits for deletions submitted before
  BOOST_CHECK(big_done.load());
  BOOST_CHECK_EQUAL(count(1), 0u);
  BOOST_CHECK_EQUAL(count(2), 1u);
}

BOOST_AUTO_TEST_CASE(a_new_instance_writes_behind_an_unfinished_delete_all) {
  reopen_with_chunk(100);
  fill(1, 20000);
  auto old_instance = open(1);
  BOOST_REQUIRE(!old_instance.delete_all());
  engine->submit(old_instance.end_turn(), nullptr);
  // The last key: the last chunk would delete it again.
  auto fresh = open(1);
  BOOST_REQUIRE(!fresh.put(key_of(19999), "fresh"));
  BOOST_REQUIRE(!submit_wait(fresh.end_turn()));
  auto xs = open(1).list();
  BOOST_REQUIRE(xs);
  BOOST_REQUIRE_EQUAL(xs->size(), 1u);
  BOOST_CHECK_EQUAL(xs->front().second, "fresh");
}

BOOST_AUTO_TEST_CASE(a_delete_all_interrupted_by_kill_9_resumes) {
  constexpr size_t keys = 30000;
  reopen_with_chunk(50);
  fill(1, keys);
  fill(2, 10);
  engine.reset(); // the child has the environment to itself
  test::child_process child{[this](int fd) {
    storage_options opts;
    opts.data_dir = dir;
    opts.delete_chunk_keys = 50;
    auto eng = storage_engine::open(opts);
    if (!eng)
      _exit(2);
    auto st = (*eng)->open_object(jurisdiction::none, ns, make_id(1));
    (void)st->delete_all();
    (*eng)->submit(st->end_turn(), nullptr);
    auto w = (*eng)->writer(jurisdiction::none);
    // Report once a few chunks are durable, then keep going until killed.
    while ((*w)->stats().delete_rounds < 5)
      usleep(100);
    char c = 1;
    if (write(fd, &c, 1) != 1)
      _exit(3);
    for (;;)
      pause();
  }};
  char c = 0;
  BOOST_REQUIRE_EQUAL(read(child.fd, &c, 1), 1);
  BOOST_REQUIRE(child.kill9());
  // The file holds a half-deleted object ...
  auto left = raw_count(dir, 1);
  BOOST_TEST_MESSAGE(left << " of " << keys << " keys left at the kill");
  BOOST_REQUIRE_GT(left, 0u);
  BOOST_REQUIRE_LT(left, keys);
  // ... which reads as empty from the start and is gone once resumed.
  reopen_with_chunk(100);
  auto st = open(1);
  BOOST_CHECK(!*st.get(key_of(keys - 1)));
  BOOST_CHECK(st.list()->empty());
  BOOST_REQUIRE(!st.put("after", "1"));
  BOOST_REQUIRE(!submit_wait(st.end_turn()));
  BOOST_REQUIRE(!engine->flush());
  BOOST_CHECK_EQUAL(count(1), 1u);
  BOOST_CHECK_EQUAL(count(2), 10u);
  engine.reset();
  BOOST_CHECK_EQUAL(raw_count(dir, 1), 1u);
}

BOOST_AUTO_TEST_CASE(
    stop_abandons_a_delete_all_that_resumes_at_the_next_start) {
  reopen_with_chunk(10);
  fill(1, 20000);
  {
    auto st = open(1);
    BOOST_REQUIRE(!st.delete_all());
    std::promise<caf::error> done;
    auto result = done.get_future();
    engine->submit(st.end_turn(),
                   [&done](const caf::error& err) { done.set_value(err); });
    while (writer().stats().delete_rounds < 2)
      std::this_thread::yield();
    engine->shutdown();
    auto err = result.get();
    // Shutdown does not wait for the deletion; the caller learns it did not
    // finish (or, rarely, that it did).
    BOOST_CHECK_MESSAGE(!err || is(err, errc::unavailable), message_of(err));
  }
  reopen_with_chunk(1000);
  BOOST_CHECK(open(1).list()->empty());
  BOOST_REQUIRE(!engine->flush());
  engine.reset();
  BOOST_CHECK_EQUAL(raw_count(dir, 1), 0u);
}

BOOST_AUTO_TEST_SUITE_END()
