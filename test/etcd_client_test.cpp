#define BOOST_TEST_MODULE etcd_client
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base64.hpp"
#include "durable/errc.hpp"
#include "durable/etcd_client.hpp"
#include "etcd_harness.hpp"
#include "fake_http_server.hpp"

using namespace std::chrono_literals;
using durable::errc;
using durable::etcd::client;
using durable::etcd::client_options;
using durable::test::etcd_cluster;

namespace {

/// The error text of a failed result (Boost.Test renders messages even for
/// checks that pass, so this must not touch the error of a value).
template <class T>
std::string why(const caf::expected<T>& r) {
  return r ? std::string{"ok"} : durable::message_of(r.error());
}

std::unique_ptr<client> make_client(std::vector<std::string> endpoints,
                                    std::chrono::milliseconds timeout = 5s,
                                    std::chrono::milliseconds attempt = 1s) {
  client_options opts;
  opts.endpoints = std::move(endpoints);
  opts.timeout = timeout;
  opts.attempt_timeout = attempt;
  auto c = client::make(opts);
  BOOST_REQUIRE_MESSAGE(c, why(c));
  return std::move(*c);
}

std::string key_name(size_t k) {
  return "/claims/k" + std::to_string(k);
}

/// Claims keys `0..keys-1` from `threads` threads at once, each in its own
/// random order with its own value, retrying `unavailable` a few times (an
/// election in progress), all stopping at the first claim that fails; `mid_run`
/// runs once a third of all claims are done. Returns owners[thread][key], and
/// counts in `created` the claims that created.
std::vector<std::vector<std::string>>
race_claims(client& c, size_t threads, size_t keys,
            std::vector<std::atomic<int>>& created,
            std::function<void()> mid_run = {}) {
  std::vector<std::vector<std::string>> owners(threads,
                                               std::vector<std::string>(keys));
  std::atomic<size_t> done{0};
  std::atomic<size_t> failures{0};
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<size_t> order(keys);
      for (size_t k = 0; k < keys; ++k)
        order[k] = k;
      std::shuffle(order.begin(), order.end(), std::mt19937{unsigned(t)});
      auto value = "node-" + std::to_string(t);
      for (auto k : order) {
        if (failures.load() > 0)
          break;
        for (int tries = 0;; ++tries) {
          auto r = c.claim(key_name(k), value);
          if (r) {
            owners[t][k] = r->owner;
            if (r->created)
              ++created[k];
            break;
          }
          if (!durable::is(r.error(), errc::unavailable) || tries == 3) {
            ++failures; // And the others stop: the run has failed.
            BOOST_TEST_MESSAGE("claim failed: " << why(r));
            break;
          }
        }
        ++done;
      }
    });
  if (mid_run) {
    while (done.load() < threads * keys / 3 && failures.load() == 0)
      std::this_thread::sleep_for(1ms);
    mid_run();
  }
  for (auto& w : workers)
    w.join();
  BOOST_CHECK_EQUAL(failures.load(), 0u);
  return owners;
}

/// Every racer learned the same owner per key, which etcd holds.
void check_single_owners(client& c,
                         const std::vector<std::vector<std::string>>& owners,
                         size_t keys) {
  size_t mismatches = 0;
  for (size_t k = 0; k < keys; ++k) {
    auto stored = c.get(key_name(k));
    BOOST_REQUIRE_MESSAGE(stored, why(stored));
    BOOST_REQUIRE(stored->has_value());
    for (auto& per_thread : owners)
      if (per_thread[k] != (*stored)->value)
        ++mismatches;
  }
  BOOST_CHECK_EQUAL(mismatches, 0u);
}

} // namespace

BOOST_AUTO_TEST_CASE(base64_round_trips_and_rejects_garbage) {
  std::mt19937 rng{7};
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes(n, '\0');
    for (auto& b : bytes)
      b = static_cast<char>(rng());
    auto text = durable::etcd::base64_encode(bytes);
    BOOST_CHECK_EQUAL(text.size() % 4, 0u);
    BOOST_CHECK(durable::etcd::base64_decode(text) == bytes);
  }
  BOOST_CHECK(durable::etcd::base64_encode("foo") == "Zm9v");
  BOOST_CHECK(durable::etcd::base64_encode("fo") == "Zm8=");
  for (auto bad : {"Zm9", "Zm9v!", "Z=9v", "Zm==Zm9v", "====", "Zm9v\n"})
    BOOST_CHECK_MESSAGE(!durable::etcd::base64_decode(bad), bad);
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  for (auto endpoints :
       std::vector<std::vector<std::string>>{{},
                                             {"127.0.0.1"},
                                             {"127.0.0.1:0"},
                                             {"127.0.0.1:99999"},
                                             {"https://127.0.0.1:2379"},
                                             {"[::1:2379"}}) {
    client_options opts;
    opts.endpoints = endpoints;
    auto c = client::make(opts);
    BOOST_CHECK(!c && durable::is(c.error(), errc::invalid_argument));
  }
  auto c = make_client({"127.0.0.1:1"});
  auto r = c->claim("", "x");
  BOOST_CHECK(!r && durable::is(r.error(), errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(claim_race_has_one_winner_that_every_racer_learns) {
  etcd_cluster etcd{1};
  auto c = make_client(etcd.endpoints());
  constexpr size_t threads = 16;
  constexpr size_t keys = 2000;
  std::vector<std::atomic<int>> created(keys);
  auto owners = race_claims(*c, threads, keys, created);
  check_single_owners(*c, owners, keys);
  size_t not_one = 0;
  for (auto& n : created)
    if (n.load() != 1)
      ++not_one;
  BOOST_CHECK_EQUAL(not_one, 0u);
  // A later claim with yet another value changes nothing.
  auto again = c->claim(key_name(0), "late");
  BOOST_REQUIRE(again);
  BOOST_CHECK(!again->created);
  BOOST_CHECK_EQUAL(again->owner, owners[0][0]);
}

BOOST_AUTO_TEST_CASE(batched_claims_overlap_and_settle_every_key_once) {
  etcd_cluster etcd{1};
  auto c = make_client(etcd.endpoints());
  // 8 threads claim 640 keys in batches of 64, each thread in its own
  // order and batching, so batches overlap partly: some keys of a batch
  // exist, others do not.
  constexpr size_t threads = 8;
  constexpr size_t keys = 640;
  std::vector<std::vector<std::string>> owners(threads,
                                               std::vector<std::string>(keys));
  std::vector<std::string> failures(threads);
  std::vector<std::thread> racers;
  for (size_t t = 0; t < threads; ++t)
    racers.emplace_back([&, t] {
      std::vector<size_t> order(keys);
      for (size_t k = 0; k < keys; ++k)
        order[k] = k;
      std::shuffle(order.begin(), order.end(), std::mt19937{unsigned(t)});
      auto batch = 1 + 9 * t; // 1, 10, ..., 64 keys per transaction.
      for (size_t i = 0; i < keys; i += batch) {
        std::vector<std::string> names, values;
        for (size_t n = i; n < std::min(keys, i + batch); ++n) {
          names.push_back(key_name(order[n]));
          values.push_back("t" + std::to_string(t));
        }
        auto r = c->claim_all(names, values);
        if (!r) {
          failures[t] = durable::message_of(r.error());
          return;
        }
        for (size_t n = 0; n < names.size(); ++n)
          owners[t][order[i + n]] = (*r)[n];
      }
    });
  for (auto& r : racers)
    r.join();
  for (auto& f : failures)
    BOOST_REQUIRE_MESSAGE(f.empty(), f);
  check_single_owners(*c, owners, keys);
  // Read back in batches: the same owners, and nothing for absent keys.
  std::vector<std::string> names{key_name(0), key_name(keys - 1), "/absent"};
  auto read = c->get_all(names);
  BOOST_REQUIRE_MESSAGE(read, why(read));
  BOOST_CHECK((*read)[0] == owners[0][0]);
  BOOST_CHECK((*read)[1] == owners[0][keys - 1]);
  BOOST_CHECK(!(*read)[2]);
  // Empty and oversized batches are the caller's error.
  auto empty = c->claim_all({}, {});
  BOOST_CHECK(!empty && durable::is(empty.error(), errc::invalid_argument));
  std::vector<std::string> many(65, "/k"), vals(65, "v");
  auto big = c->claim_all(many, vals);
  BOOST_CHECK(!big && durable::is(big.error(), errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(binary_keys_and_values_survive) {
  etcd_cluster etcd{1};
  auto c = make_client(etcd.endpoints());
  std::string key{"\x00\xff/k\n\"", 6};
  std::string value{"\x01\x00\xfe\"\\", 5};
  auto r = c->claim(key, value);
  BOOST_REQUIRE(r);
  BOOST_CHECK(r->created);
  auto got = c->get(key);
  BOOST_REQUIRE(got && got->has_value());
  BOOST_CHECK((*got)->value == value);
  BOOST_CHECK_EQUAL((*got)->create_revision, r->create_revision);
  auto missing = c->get("/nothing-here");
  BOOST_REQUIRE(missing);
  BOOST_CHECK(!missing->has_value());
}

BOOST_AUTO_TEST_CASE(read_on_another_member_sees_the_last_write) {
  etcd_cluster etcd{3};
  // One client per member: writes go through one, reads through another.
  std::vector<std::unique_ptr<client>> clients;
  for (size_t i = 0; i < 3; ++i)
    clients.push_back(make_client({etcd.endpoint(i)}));
  size_t stale = 0;
  for (int n = 1; n <= 300; ++n) {
    auto rev = clients[n % 3]->put("/lin", std::to_string(n));
    BOOST_REQUIRE_MESSAGE(rev, why(rev));
    auto got = clients[(n + 1) % 3]->get("/lin");
    BOOST_REQUIRE(got && got->has_value());
    if ((*got)->value != std::to_string(n) || (*got)->mod_revision < *rev)
      ++stale;
  }
  BOOST_CHECK_EQUAL(stale, 0u);
}

BOOST_AUTO_TEST_CASE(leases_keep_keys_alive_and_their_end_removes_them) {
  etcd_cluster etcd{1};
  auto c = make_client(etcd.endpoints());
  auto l = c->grant(2s);
  BOOST_REQUIRE_MESSAGE(l, why(l));
  BOOST_CHECK(l->ttl >= 2);
  BOOST_REQUIRE(c->put("/live/n1", "incarnation-1", l->id));
  auto got = c->get("/live/n1");
  BOOST_REQUIRE(got && got->has_value());
  BOOST_CHECK_EQUAL((*got)->lease, l->id);
  // Renewed for longer than its TTL, the key stays.
  for (int i = 0; i < 8; ++i) {
    auto renewed = c->keep_alive(l->id);
    BOOST_REQUIRE_MESSAGE(renewed, why(renewed));
    BOOST_CHECK(renewed->ttl > 0);
    std::this_thread::sleep_for(500ms);
  }
  got = c->get("/live/n1");
  BOOST_REQUIRE(got);
  BOOST_CHECK(got->has_value());
  // Not renewed, it expires with its key (bounded wait).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::this_thread::sleep_for(50ms);
    got = c->get("/live/n1");
    BOOST_REQUIRE(got);
    gone = !got->has_value();
  }
  BOOST_CHECK(gone);
  auto late = c->keep_alive(l->id);
  BOOST_CHECK(!late && durable::is(late.error(), errc::invalid_argument));
  // A put on a lease that is gone is refused, not silently unleased.
  auto orphan = c->put("/live/n1", "x", l->id);
  BOOST_CHECK(!orphan && durable::is(orphan.error(), errc::invalid_argument));
  // Revoking removes the keys at once; revoking again succeeds.
  auto l2 = c->grant(60s);
  BOOST_REQUIRE(l2);
  BOOST_REQUIRE(c->put("/live/n2", "x", l2->id));
  BOOST_REQUIRE(c->revoke(l2->id));
  got = c->get("/live/n2");
  BOOST_REQUIRE(got);
  BOOST_CHECK(!got->has_value());
  BOOST_CHECK(c->revoke(l2->id));
}

BOOST_AUTO_TEST_CASE(stopped_etcd_gives_unavailable_within_the_timeout) {
  etcd_cluster etcd{1};
  auto timeout = 1500ms;
  auto c = make_client(etcd.endpoints(), timeout, 500ms);
  BOOST_REQUIRE(c->claim("/kept", "a"));
  auto expect_unavailable = [&](const char* what) {
    auto start = std::chrono::steady_clock::now();
    auto r = c->claim("/new", "b");
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST_MESSAGE(what << ": " << (r ? "answered" : why(r)));
    BOOST_CHECK_MESSAGE(!r && durable::is(r.error(), errc::unavailable), what);
    // The bound is the feature: no hang (generous slack for a busy host).
    BOOST_CHECK_MESSAGE(took < timeout + 2s, what);
  };
  etcd.freeze(0); // Sockets stay open, nothing answers.
  expect_unavailable("frozen");
  etcd.thaw(0);
  BOOST_REQUIRE(etcd.healthy(0, 10s));
  // Healthy, yet a busy host may need more than one short call.
  auto after = c->claim("/after-thaw", "c");
  for (int attempt = 0; attempt < 5 && !after; ++attempt)
    after = c->claim("/after-thaw", "c");
  BOOST_CHECK_MESSAGE(after, why(after));
  etcd.kill(0); // Connections refused.
  expect_unavailable("killed");
  etcd.start(0);
  BOOST_REQUIRE(etcd.healthy(0, 30s));
  auto kept = c->claim("/kept", "z"); // Durable: the old owner stays.
  BOOST_REQUIRE_MESSAGE(kept, why(kept));
  BOOST_CHECK_EQUAL(kept->owner, "a");
}

BOOST_AUTO_TEST_CASE(leader_killed_mid_run_claims_continue_with_one_owner) {
  etcd_cluster etcd{3};
  // The leader's endpoint first: the client starts there and must move.
  auto leader = etcd.await_leader();
  std::vector<std::string> endpoints{etcd.endpoint(leader)};
  for (size_t i = 0; i < 3; ++i)
    if (i != leader)
      endpoints.push_back(etcd.endpoint(i));
  auto c = make_client(endpoints);
  constexpr size_t threads = 8;
  constexpr size_t keys = 1000;
  std::vector<std::atomic<int>> created(keys);
  std::atomic<bool> killed{false};
  auto owners = race_claims(*c, threads, keys, created, [&] {
    etcd.kill(leader);
    killed = true;
  });
  BOOST_REQUIRE(killed.load());
  check_single_owners(*c, owners, keys);
  // At most one creator per key (a creator whose answer was lost in the
  // fail-over learns the owner like everybody else).
  size_t several = 0;
  for (auto& n : created)
    if (n.load() > 1)
      ++several;
  BOOST_CHECK_EQUAL(several, 0u);
}

BOOST_AUTO_TEST_CASE(a_frozen_member_costs_one_attempt_then_others_answer) {
  etcd_cluster etcd{3};
  auto leader = etcd.await_leader();
  auto frozen = (leader + 1) % 3;
  std::vector<std::string> endpoints{etcd.endpoint(frozen)};
  for (size_t i = 0; i < 3; ++i)
    if (i != frozen)
      endpoints.push_back(etcd.endpoint(i));
  auto c = make_client(endpoints, 5s, 500ms);
  BOOST_REQUIRE(c->claim("/f/0", "a"));
  etcd.freeze(frozen); // Accepts connections, answers nothing.
  for (int i = 1; i <= 20; ++i) {
    auto r = c->claim("/f/" + std::to_string(i), "a");
    BOOST_REQUIRE_MESSAGE(r, why(r));
    // Not `created`: an attempt that committed but answered after its
    // attempt timeout (a busy host) is retried and reads its own claim.
    BOOST_CHECK_EQUAL(r->owner, "a");
  }
  etcd.thaw(frozen);
  auto again = c->claim("/f/0", "b");
  BOOST_REQUIRE(again);
  BOOST_CHECK_EQUAL(again->owner, "a");
}

BOOST_AUTO_TEST_CASE(hostile_answers_fail_over_and_never_pass_as_results) {
  etcd_cluster etcd{1};
  using durable::test::fake_http_server;
  // Each answer, and whether a client with a real member after the hostile
  // one still gets the real answer (transport-level garbage) or an error
  // (a well-formed answer with malformed content).
  std::vector<std::pair<std::string, bool>> answers{
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnope!", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 23\r\n\r\n{\"succeeded\":\"maybe\"} "
       " ",
       true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{\"responses\":[]}", true},
      {"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 400 Bad\r\nContent-Length: 12\r\n\r\n{\"code\":\"3\"}", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n{", true},
      {"garbage\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n"
       "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"x\",\"value\":\"!!"
       "\"}]}",
       false},
  };
  for (auto& [answer, fails_over] : answers) {
    fake_http_server fake{answer};
    // The hostile endpoint alone: an error, never a made-up owner.
    auto alone = make_client({fake.endpoint()}, 800ms, 300ms);
    auto r = alone->claim("/h", "v");
    BOOST_CHECK_MESSAGE(!r, "accepted: " << answer);
    auto g = alone->get("/h");
    BOOST_CHECK_MESSAGE(!g, "accepted: " << answer);
    // Before a real member.
    auto both = make_client({fake.endpoint(), etcd.endpoint(0)});
    auto g2 = both->get("/missing");
    if (fails_over)
      BOOST_CHECK_MESSAGE(g2 && !g2->has_value(), "no fail-over: " << answer);
    else
      BOOST_CHECK_MESSAGE(!g2, "accepted: " << answer);
  }
}
