// Named objects placed by claims in etcd: real etcd members (the Debian
// binary) and three real counter_server nodes with
// `durable.cluster.coordinator=etcd`. First accesses raced from every node
// activate each object once, on the node its claim names, also while the
// etcd leader is killed or a node is frozen; a location hint places an
// object on first access only; with etcd down, unique and cached named
// objects keep working and new named ones get a retryable error; a
// restarted node waits for its old incarnation's lease.

#define BOOST_TEST_MODULE etcd_placement
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>

#include "cluster_harness.hpp"
#include "durable/etcd_client.hpp"
#include "durable/etcd_registry.hpp"
#include "etcd_harness.hpp"

using namespace std::chrono_literals;
using namespace durable::test;

namespace {

std::string temp_root() {
  static std::string root = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("durable-placed-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
  }();
  return root;
}

const test_pki& pki() {
  static test_pki x = [] {
    test_pki result{temp_root() + "/pki", "cluster-ca"};
    for (auto name : {"n1", "n2", "n3"})
      result.issue(name);
    return result;
  }();
  return x;
}

std::string next_dir() {
  static int round = 0;
  return temp_root() + "/c" + std::to_string(++round);
}

/// The nodes' options for etcd at `endpoints`: short timeouts and leases,
/// so that failures show quickly.
std::vector<std::string> etcd_args(const std::vector<std::string>& endpoints) {
  std::string list = "[";
  for (auto& x : endpoints)
    list += (list.size() > 1 ? ",\"" : "\"") + x + "\"";
  list += "]";
  return {"--durable.cluster.coordinator=etcd",
          "--durable.cluster.etcd-endpoints=" + list,
          "--durable.cluster.etcd-timeout=2s",
          "--durable.cluster.lease-ttl=3s"};
}

/// etcd (`members` of them) and three nodes: n1 in weur holding eu, n2 in
/// enam holding us, n3 in apac holding both.
/// Applies the migrations `text` (JSON) to the shared registry of cluster
/// "test" in `etcd` with durable-admin; true if there were none.
bool migrate_first(const etcd_cluster& etcd, const std::string& text) {
  if (text.empty())
    return true;
  auto dir = next_dir() + "-migrate";
  std::filesystem::create_directories(dir);
  std::ofstream{dir + "/m.json"} << text;
  auto r =
      test::run_process({ADMIN_BINARY, "--etcd-endpoints=" + etcd.endpoint(0),
                         "--cluster=test", "migrate", dir + "/m.json"},
                        dir);
  BOOST_REQUIRE_MESSAGE(r.code == 0, "migrate failed: " << r.err);
  return true;
}

struct placed_cluster {
  etcd_cluster etcd;
  bool migrated;
  node_set nodes;
  std::unique_ptr<durable::etcd::client> reader;

  /// `migrations`: applied to the cluster's registry before nodes start.
  explicit placed_cluster(size_t members = 1, std::string migrations = {})
      : etcd(members),
        migrated(migrate_first(etcd, migrations)),
        nodes(next_dir(),
              {{"n1", 1, "weur", {"eu"}},
               {"n2", 2, "enam", {"us"}},
               {"n3", 3, "apac", {"eu", "us"}}},
              pki(), etcd_args(etcd.endpoints())) {
    durable::etcd::client_options opts;
    opts.endpoints = etcd.endpoints();
    auto made = durable::etcd::client::make(opts);
    BOOST_REQUIRE(made);
    reader = std::move(*made);
  }

  uint16_t http(size_t i) const { return nodes.http(i); }

  /// The node number the claim of counter `name` (jurisdiction `j`) names,
  /// or 0 if there is none.
  uint16_t claimed(const std::string& name,
                   durable::jurisdiction j = durable::jurisdiction::none) {
    auto id = nodes.counter_ids().from_name(name, j);
    auto kv = reader->get("/caf-durable/test/claims/" + id.to_string());
    BOOST_REQUIRE_MESSAGE(kv, "etcd read failed");
    if (!*kv)
      return 0;
    return static_cast<uint16_t>(std::stoul((*kv)->value));
  }
};

/// GET `target` on `port` with a location hint header.
std::optional<response> get_with_hint(uint16_t port, const std::string& target,
                                      const std::string& hint) {
  try {
    client c{port};
    c.send("GET " + target +
           " HTTP/1.1\r\nHost: t\r\nX-Durable-Location-Hint: " + hint +
           "\r\nConnection: close\r\n\r\n");
    return c.read();
  } catch (...) {
    return std::nullopt;
  }
}

/// What a round of raced first accesses saw.
struct race_result {
  /// Acknowledged increments per name.
  std::vector<int> acked;
  /// Answers other than 200, by status (0: none in time).
  std::map<int, int> refused;
  std::vector<std::string> samples;
};

/// Increments counters race-<tag>-0 .. race-<tag>-(names-1) once through
/// every node, all nodes going through the names in one shared random order
/// (so that each name's first accesses from the three nodes meet), with
/// `lanes` connections per node. An increment that fails is retried (until
/// `deadline`) after `between_retries`; `during(progress)` runs on the
/// calling thread while the racers go, with the fraction of increments
/// done.
race_result race(placed_cluster& c, const std::string& tag, int names,
                 int lanes, std::chrono::seconds deadline,
                 const std::function<void(std::atomic<int>&)>& during = {}) {
  std::vector<int> order(names);
  for (int n = 0; n < names; ++n)
    order[n] = n;
  std::shuffle(order.begin(), order.end(), std::mt19937{42});
  race_result result;
  result.acked.assign(names, 0);
  std::mutex mtx;
  std::atomic<int> done{0};
  auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<std::thread> racers;
  for (size_t node = 0; node < 3; ++node)
    for (int lane = 0; lane < lanes; ++lane)
      racers.emplace_back([&, node, lane] {
        std::unique_ptr<client> conn;
        for (size_t k = lane; k < order.size(); k += lanes) {
          auto target =
              "/counter/race-" + tag + "-" + std::to_string(order[k]) + "/inc";
          while (std::chrono::steady_clock::now() < until) {
            std::optional<response> r;
            try {
              if (!conn)
                conn = std::make_unique<client>(c.http(node));
              conn->send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
              r = read_patiently(*conn, 60s);
            } catch (...) {
              r.reset();
            }
            std::lock_guard<std::mutex> guard{mtx};
            if (r && r->result_int() == 200) {
              ++result.acked[order[k]];
              break;
            }
            ++result.refused[r ? r->result_int() : 0];
            if (result.samples.size() < 5)
              result.samples.push_back(r ? std::to_string(r->result_int()) +
                                               " " + std::string{r->body()}
                                         : std::string{"no answer"});
            if (!r)
              conn.reset(); // A late answer would misalign the next.
            std::this_thread::sleep_for(50ms);
          }
          ++done;
        }
      });
  if (during)
    during(done);
  for (auto& t : racers)
    t.join();
  for (auto& text : result.samples)
    BOOST_TEST_MESSAGE("refused once: " << text);
  return result;
}

/// Checks that every name of a race lives exactly once: its claim names a
/// node, that node's counter holds every acknowledged increment (a second
/// instance would have taken some), and the nodes hold as many live objects
/// as their claims say.
void check_one_instance_each(placed_cluster& c, const std::string& tag,
                             const race_result& r,
                             const std::vector<uint64_t>& live_before) {
  int names = static_cast<int>(r.acked.size());
  std::map<uint16_t, uint64_t> per_owner;
  for (int n = 0; n < names; ++n) {
    auto name = "race-" + tag + "-" + std::to_string(n);
    BOOST_REQUIRE_MESSAGE(r.acked[n] == 3,
                          name << " acknowledged " << r.acked[n] << " times");
    auto owner = c.claimed(name);
    BOOST_REQUIRE_MESSAGE(owner >= 1 && owner <= 3, name << " has no claim");
    ++per_owner[owner];
    // Every acknowledged increment is in the one instance (read through
    // the nodes in turn, owners or not).
    auto value = counter_call(c.http(n % 3), "/counter/" + name);
    BOOST_REQUIRE_MESSAGE(value >= 3, name << " reads " << value << " through n"
                                           << n % 3 + 1);
  }
  for (size_t i = 0; i < 3; ++i)
    BOOST_CHECK_EQUAL(c.nodes.live_objects(i) - live_before[i],
                      per_owner[static_cast<uint16_t>(i + 1)]);
}

std::vector<uint64_t> live_now(placed_cluster& c) {
  std::vector<uint64_t> result;
  for (size_t i = 0; i < 3; ++i)
    result.push_back(c.nodes.live_objects(i));
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(raced_first_accesses_activate_each_object_once) {
  placed_cluster c;
  // 3 400 names, each accessed first from all three nodes: 10 200 raced
  // first accesses.
  auto before = live_now(c);
  auto r = race(c, "a", 3400, 4, 300s);
  // On a loaded host an etcd call may outlast etcd-timeout (2 s here): the
  // caller gets the retryable kind and retries; nothing else is allowed.
  for (auto& [status, count] : r.refused) {
    BOOST_TEST_MESSAGE(count << " answers " << status << " (retried)");
    BOOST_CHECK_EQUAL(status, 503);
  }
  check_one_instance_each(c, "a", r, before);
}

BOOST_AUTO_TEST_CASE(killing_the_etcd_leader_mid_round_loses_no_claim) {
  placed_cluster c{3};
  auto before = live_now(c);
  auto r = race(c, "b", 1500, 4, 300s, [&](std::atomic<int>& done) {
    while (done.load() < 1500)
      std::this_thread::sleep_for(10ms);
    auto killed = c.etcd.kill_leader();
    BOOST_TEST_MESSAGE("killed etcd member " << killed << " at 1/3");
  });
  for (auto& [status, count] : r.refused) {
    BOOST_TEST_MESSAGE(count << " answers " << status << " (retried)");
    // Only the retryable kind while etcd elects a new leader.
    BOOST_CHECK_EQUAL(status, 503);
  }
  check_one_instance_each(c, "b", r, before);
}

BOOST_AUTO_TEST_CASE(a_node_frozen_mid_round_never_doubles_an_object) {
  placed_cluster c;
  auto before = live_now(c);
  auto r = race(c, "c", 1500, 4, 300s, [&](std::atomic<int>& done) {
    while (done.load() < 1500)
      std::this_thread::sleep_for(10ms);
    // Longer than the nodes' connection timeout (4 s): the links to n2 go
    // down and come back.
    c.nodes.nodes[1]->signal(SIGSTOP);
    std::this_thread::sleep_for(6s);
    c.nodes.nodes[1]->signal(SIGCONT);
  });
  for (auto& [status, count] : r.refused)
    BOOST_TEST_MESSAGE(count << " answers " << status << " (retried)");
  for (size_t i = 0; i < 3; ++i)
    BOOST_REQUIRE(links_up(c.http(i), 30s));
  check_one_instance_each(c, "c", r, before);
}

BOOST_AUTO_TEST_CASE(a_hint_places_an_object_on_its_first_access_only) {
  placed_cluster c;
  // Through n1 with hint apac: n3.
  auto r = get_with_hint(c.http(0), "/counter/hinted/inc", "apac");
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(c.claimed("hinted"), 3);
  // Without a hint, on the node asked.
  for (size_t i = 0; i < 3; ++i) {
    auto name = "plain-" + std::to_string(i);
    BOOST_REQUIRE_EQUAL(counter_call(c.http(i), "/counter/" + name + "/inc"),
                        1);
    BOOST_CHECK_EQUAL(c.claimed(name), i + 1);
  }
  // A later, different hint changes nothing.
  r = get_with_hint(c.http(1), "/counter/hinted/inc", "weur");
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(r->body(), "2");
  BOOST_CHECK_EQUAL(c.claimed("hinted"), 3);
  // eu objects go to the node nearest the hint that may hold eu: from
  // enam, n1 (weur) rather than n3 (apac); n2 may not hold them.
  r = get_with_hint(c.http(1), "/counter-eu/hinted-eu/inc", "enam");
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r->result_int(), 200);
  BOOST_CHECK_EQUAL(c.claimed("hinted-eu", durable::jurisdiction::eu), 1);
  // A hint that names no region is the caller's error, and creates nothing.
  r = get_with_hint(c.http(0), "/counter/bad-hint/inc", "mars");
  BOOST_REQUIRE(r);
  BOOST_CHECK_EQUAL(r->result_int(), 400);
  BOOST_CHECK_NE(r->body().find("mars"), std::string::npos);
  BOOST_CHECK_EQUAL(c.claimed("bad-hint"), 0);
}

BOOST_AUTO_TEST_CASE(with_etcd_down_only_new_named_objects_wait) {
  placed_cluster c;
  // 30 named objects reached through every node (so every node caches
  // their claims), and 30 unique ones.
  std::vector<std::string> targets;
  for (int n = 0; n < 30; ++n) {
    auto name = "/counter/cached-" + std::to_string(n);
    for (size_t i = 0; i < 3; ++i)
      BOOST_REQUIRE_GT(counter_call(c.http(i), name + "/inc"), 0);
    targets.push_back(name);
    auto id = c.nodes.counter_ids().new_unique(
        durable::jurisdiction::none, static_cast<uint16_t>(1 + n % 3));
    BOOST_REQUIRE(id);
    targets.push_back("/counter/id/" + id->to_string());
  }
  c.etcd.kill(0);
  int errors = 0;
  for (auto& target : targets)
    for (size_t i = 0; i < 3; ++i)
      if (counter_call(c.http(i), target + "/inc") <= 0)
        ++errors;
  BOOST_CHECK_EQUAL(errors, 0);
  // A new named object: a retryable 503 naming etcd, never a guess.
  std::string body;
  BOOST_CHECK_EQUAL(counter_call(c.http(0), "/counter/brand-new/inc", &body),
                    -503);
  BOOST_TEST_MESSAGE("new named object with etcd down: " << body);
  BOOST_CHECK_NE(body.find("etcd"), std::string::npos);
  // Back: the retry succeeds.
  c.etcd.start(0);
  BOOST_REQUIRE(c.etcd.healthy(0, 30s));
  int64_t value = -1;
  for (int attempt = 0; attempt < 50 && value <= 0; ++attempt) {
    value = counter_call(c.http(0), "/counter/brand-new/inc");
    if (value <= 0)
      std::this_thread::sleep_for(200ms);
  }
  BOOST_CHECK_EQUAL(value, 1);
}

BOOST_AUTO_TEST_CASE(owners_remember_their_claims_across_restarts) {
  placed_cluster c;
  // 20 objects claimed for n1, then n1 restarts: it has no cache now.
  for (int n = 0; n < 20; ++n)
    BOOST_REQUIRE_EQUAL(
        counter_call(c.http(0), "/counter/kept-" + std::to_string(n) + "/inc"),
        1);
  c.nodes.nodes[0]->kill(SIGTERM);
  c.nodes.nodes[0] = c.nodes.start(0);
  for (auto& x : c.nodes.specs)
    BOOST_REQUIRE(links_up(x.http, 30s));
  // With etcd gone, n1 still serves them: it recorded its claims in its
  // meta database (without the records, each would need an etcd read).
  c.etcd.kill(0);
  for (int n = 0; n < 20; ++n) {
    std::string body;
    BOOST_CHECK_EQUAL(
        counter_call(c.http(0), "/counter/kept-" + std::to_string(n) + "/inc",
                     &body),
        2);
    if (!body.empty())
      BOOST_TEST_MESSAGE(body);
  }
  // What it never held still waits for etcd.
  BOOST_CHECK_EQUAL(counter_call(c.http(0), "/counter/never-kept/inc"), -503);
}

BOOST_AUTO_TEST_CASE(nodes_share_the_namespace_ids_of_the_cluster_registry) {
  // "counter" is created by a migration (a random ID) before any node runs;
  // every node mirrors it and binds that ID, none records its own.
  placed_cluster c{1, R"([{"tag": "v1", "new_classes": ["counter"]}])"};
  auto log =
      durable::cluster::etcd_registry_log(c.etcd.endpoints(), 5s, "test");
  BOOST_REQUIRE(log);
  auto got = (*log)->read(0);
  BOOST_REQUIRE(got);
  BOOST_REQUIRE_EQUAL(got->entries.size(), 1u);
  auto entry = nlohmann::json::parse(got->entries[0].text);
  auto key = entry["migration"]["new_classes"][0]["id"].get<std::string>();
  BOOST_CHECK_NE(key, durable::namespace_registry::derived_id("counter"));
  auto secret = durable::deployment_secret::from_hex(cluster_secret_hex);
  BOOST_REQUIRE(secret);
  auto id = durable::id_factory{*secret, key}.from_name(
      "shared-x", durable::jurisdiction::none);
  // The ID made with the registry's key is valid on every node: one object.
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK_EQUAL(
        counter_call(c.http(i), "/counter/id/" + id.to_string() + "/inc"),
        i + 1);
  BOOST_CHECK_EQUAL(counter_call(c.http(2), "/counter/shared-x"), 3);
  // An ID made with the name-derived key belongs to no namespace here.
  auto stray =
      c.nodes.counter_ids().from_name("shared-x", durable::jurisdiction::none);
  for (int i = 0; i < 3; ++i)
    BOOST_CHECK_LT(
        counter_call(c.http(i), "/counter/id/" + stray.to_string() + "/inc"),
        0);
}

BOOST_AUTO_TEST_CASE(a_restarted_node_waits_for_its_old_lease) {
  placed_cluster c;
  auto key = std::string{"/caf-durable/test/nodes/2"};
  auto old = c.reader->get(key);
  BOOST_REQUIRE(old && *old);
  c.nodes.nodes[1]->kill(SIGKILL);
  auto killed_at = std::chrono::steady_clock::now();
  c.nodes.nodes[1] = c.nodes.start(1);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  // The old lease (3 s, renewed every second) outlives the process by at
  // least 2 s; only then may the new incarnation serve.
  BOOST_TEST_MESSAGE("restart took " << waited.count() << " ms");
  BOOST_CHECK_GE(waited.count(), 1500);
  auto now = c.reader->get(key);
  BOOST_REQUIRE(now && *now);
  BOOST_CHECK_NE((*now)->value, (*old)->value);
  BOOST_CHECK_NE((*now)->lease, (*old)->lease);
  // A second process for node n2 while it runs gives up with a clear error.
  auto& x = c.nodes.specs[1];
  auto out = shell_output(
      "DURABLE_SECRET=" + cluster_secret_hex + " timeout 60 " +
      COUNTER_SERVER_BINARY + " --durable.data-dir=" + c.nodes.dir +
      "/n2-twin --durable.cluster.catalog=" + c.nodes.catalog_file +
      " --durable.cluster.node=n2 --durable.cluster.tls-certificate=" +
      pki().cert(x.name) + " --durable.cluster.tls-key=" + pki().key(x.name) +
      " --durable.cluster.tls-ca=" + pki().ca_file() + " " +
      etcd_args(c.etcd.endpoints())[0] + " '" +
      etcd_args(c.etcd.endpoints())[1] + "' " +
      etcd_args(c.etcd.endpoints())[3]);
  BOOST_TEST_MESSAGE("twin: " << out);
  BOOST_CHECK_NE(out.find("still held by another incarnation"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(out.find("listening on"), std::string::npos);
  // The running n2 is unharmed.
  BOOST_CHECK_EQUAL(counter_call(c.http(1), "/counter/after-twin/inc"), 1);
}
