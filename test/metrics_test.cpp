// GET /metrics end to end: a real server on 127.0.0.1, known traffic (requests,
// overload rejections, a throwing handler, an eviction, a storage write per
// request, alarms that succeed, retry and drop), scrapes over a real socket,
// and the exposition parsed by the reference parser of the Prometheus Python
// client (test/parse_metrics.py), whose figures must move by exactly what the
// traffic did.

#define BOOST_TEST_MODULE metrics_test
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include "http_client.hpp"
#include "http_fixture.hpp"
#include "test_objects.hpp"

#include "durable/http_server.hpp"
#include "durable/metrics_text.hpp"

namespace {

using namespace std::chrono_literals;
using durable::test::client;
using durable::test::has;

// -- the object under test ----------------------------------------------------

using meter_api = caf::typed_actor<durable::fetch_signature>;

std::atomic<int> sleeping{0};
std::atomic<int> alarms_ran{0};
std::atomic<int> alarm_throws{0};

/// "/put" writes a key (one write set per request), "/sleep" blocks 300 ms,
/// "/throw" throws, "/alarm" sets an alarm due at t=1000 whose handler
/// throws if the URL also has "fail"; anything else answers "ok".
class meter : public durable::object<meter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](durable::fetch_request& req) {
          if (has(req.url, "/throw"))
            throw std::runtime_error("boom");
          if (has(req.url, "/sleep")) {
            ++sleeping;
            std::this_thread::sleep_for(300ms);
            --sleeping;
          }
          if (has(req.url, "/put"))
            storage().put_value("n", ++puts_);
          if (has(req.url, "/alarm")) {
            if (has(req.url, "fail"))
              storage().put_value("fail", true);
            storage().set_alarm(1000);
          }
          return durable::make_text_response(200, "ok");
        },
    };
  }

  void alarm(const durable::alarm_info&) override {
    if (auto fail = storage().get_value<bool>("fail"); fail && *fail) {
      ++alarm_throws;
      throw std::runtime_error("alarm fails");
    }
    ++alarms_ran;
  }

private:
  int64_t puts_ = 0;
};

// -- parsing ------------------------------------------------------------------

/// One scrape as the reference parser read it: sample values by
/// `name{label="value",...}` (labels sorted by name).
struct scrape {
  std::map<std::string, double> samples;
  nlohmann::json families;

  static std::string key(const std::string& name,
                         const std::map<std::string, std::string>& labels) {
    std::string out = name + "{";
    auto first = true;
    for (auto& [k, v] : labels) {
      out += (first ? "" : ",") + k + "=\"" + v + "\"";
      first = false;
    }
    return out + "}";
  }

  /// The value of a sample that must be there.
  double operator()(const std::string& name,
                    std::map<std::string, std::string> labels = {}) const {
    auto i = samples.find(key(name, labels));
    if (i == samples.end()) {
      BOOST_ERROR("no sample " << key(name, labels));
      return -1;
    }
    return i->second;
  }

  /// The value of a sample that appears once it has a value (a status
  /// code, say), 0 before.
  double or_zero(const std::string& name,
                 std::map<std::string, std::string> labels) const {
    auto i = samples.find(key(name, labels));
    return i == samples.end() ? 0 : i->second;
  }

  bool contains(const std::string& name,
                std::map<std::string, std::string> labels = {}) const {
    return samples.count(key(name, labels)) > 0;
  }
};

/// Runs the reference parser on `text`; fails the test if it rejects it.
scrape parse(const std::string& text) {
  char path[] = "/tmp/durable-metrics-XXXXXX";
  auto fd = mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream{path} << text;
  auto cmd = std::string{PYTHON3} + " " + PARSE_METRICS_SCRIPT + " < " + path +
             " 2>&1";
  auto* pipe = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    out.append(buf, n);
  auto status = ::pclose(pipe);
  ::unlink(path);
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        "the parser rejected the exposition: " << out);
  scrape result;
  result.families = nlohmann::json::parse(out)["families"];
  for (auto& family : result.families)
    for (auto& sample : family["samples"]) {
      auto key = scrape::key(
          sample["name"],
          sample["labels"].get<std::map<std::string, std::string>>());
      BOOST_CHECK_MESSAGE(result.samples.count(key) == 0,
                          "sample twice: " << key);
      result.samples[key] = sample["value"].get<double>();
    }
  return result;
}

/// What every exposition must be: each family once, typed and documented,
/// counters named `_total`, histograms with cumulative buckets ending in
/// `+Inf` equal to `_count`.
void check_structure(const scrape& s) {
  std::set<std::string> names;
  for (auto& family : s.families) {
    std::string name = family["name"];
    std::string type = family["type"];
    BOOST_CHECK_MESSAGE(names.insert(name).second, "family twice: " << name);
    BOOST_CHECK_MESSAGE(type == "counter" || type == "gauge" ||
                            type == "histogram",
                        name << " has type " << type);
    BOOST_CHECK_MESSAGE(!family["help"].get<std::string>().empty(),
                        name << " has no help");
    // Per label set (without le): the buckets in order.
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (auto& sample : family["samples"]) {
      std::string sname = sample["name"];
      auto labels = sample["labels"].get<std::map<std::string, std::string>>();
      if (type == "counter")
        BOOST_CHECK_MESSAGE(sname == name + "_total", sname);
      if (type != "histogram")
        continue;
      if (sname == name + "_bucket") {
        auto le = labels.at("le");
        labels.erase("le");
        auto bound = le == "+Inf" ? std::numeric_limits<double>::infinity()
                                  : std::stod(le);
        buckets[scrape::key(name, labels)].emplace_back(bound, sample["value"]);
      } else if (sname == name + "_count") {
        counts[scrape::key(name, labels)] = sample["value"];
      }
    }
    for (auto& [series, xs] : buckets) {
      BOOST_REQUIRE(!xs.empty());
      for (size_t i = 1; i < xs.size(); ++i) {
        BOOST_CHECK_MESSAGE(xs[i - 1].first < xs[i].first,
                            series << ": bounds out of order");
        BOOST_CHECK_MESSAGE(xs[i - 1].second <= xs[i].second,
                            series << ": buckets not cumulative");
      }
      BOOST_CHECK_MESSAGE(std::isinf(xs.back().first),
                          series << ": no +Inf bucket");
      BOOST_CHECK_EQUAL(xs.back().second, counts[series]);
    }
  }
}

// -- fixture ------------------------------------------------------------------

using meter_ns = durable::object_namespace<meter_api>;

struct fixture {
  test::temp_dir dir;
  std::shared_ptr<std::atomic<int64_t>> clock =
      std::make_shared<std::atomic<int64_t>>(1000);
  durable::config cfg;
  caf::actor_system sys;
  durable::deployment dep;
  meter_ns meters;
  meter_ns briefs;
  std::unique_ptr<durable::http::server> srv;

  fixture()
      : sys(test::fixture::init(cfg)),
        dep(test::fixture::open(sys, settings(dir, clock))),
        // One queued request per object: a second one is refused.
        meters(must(dep.bind<meter>("meter", {std::chrono::hours{1}, 1}))),
        // Evicted 50 ms after its last message.
        briefs(must(dep.bind<meter>("brief", {50ms}))) {
    sleeping = 0;
    alarms_ran = 0;
    alarm_throws = 0;
    srv = std::make_unique<durable::http::server>(sys);
    BOOST_REQUIRE(!srv->bind("meter", meters));
    BOOST_REQUIRE(!srv->bind("brief", briefs));
    BOOST_REQUIRE(!srv->serve_metrics(dep));
    BOOST_REQUIRE(!srv->start());
  }

  ~fixture() {
    srv.reset();
    dep.shutdown();
  }

  static durable::settings settings(const test::temp_dir& dir,
                                    std::shared_ptr<std::atomic<int64_t>> t) {
    auto s = test::test_settings();
    s.data_dir = dir.path + "/data";
    s.alarm_poll_interval = 5ms;
    s.clock = [t] { return t->load(); };
    return s;
  }

  template <class T>
  static T must(caf::expected<T> x) {
    if (!x)
      throw std::runtime_error(durable::message_of(x.error()));
    return std::move(*x);
  }

  uint16_t port() const { return srv->port(); }

  /// GET `target` on a fresh connection; its status.
  unsigned get(const std::string& target) {
    client c{port()};
    auto r = c.request("GET", target);
    BOOST_REQUIRE_MESSAGE(r, "no response to " << target);
    return r->result_int();
  }

  /// Scrapes /metrics over a real socket and parses it.
  scrape metrics() {
    client c{port()};
    auto r = c.request("GET", "/metrics");
    BOOST_REQUIRE(r);
    BOOST_REQUIRE_EQUAL(r->result_int(), 200u);
    BOOST_CHECK_EQUAL(durable::test::header(*r, "content-type"),
                      "text/plain; version=0.0.4; charset=utf-8");
    auto s = parse(r->body());
    check_structure(s);
    return s;
  }
};

std::map<std::string, std::string> ns(const std::string& name) {
  return {{"namespace", name}};
}

std::map<std::string, std::string>
ns(const std::string& name, const std::string& k, const std::string& v) {
  return {{"namespace", name}, {k, v}};
}

const std::map<std::string, std::string> global{{"jurisdiction", "global"}};

const char* error_kinds[] = {"other",
                             "invalid_argument",
                             "invalid_id",
                             "wrong_namespace",
                             "wrong_jurisdiction",
                             "unsupported_jurisdiction",
                             "unsupported_location_hint",
                             "no_placement",
                             "overloaded",
                             "unavailable",
                             "object_reset",
                             "exception_thrown",
                             "storage_full",
                             "storage_failure",
                             "unsupported_message"};

/// `after - before` of a sample.
double delta(const scrape& before, const scrape& after, const std::string& name,
             std::map<std::string, std::string> labels = {}) {
  return after(name, labels) - before(name, labels);
}

/// `after - before` of an HTTP status count.
double status_delta(const scrape& before, const scrape& after,
                    const std::string& code) {
  std::map<std::string, std::string> labels{{"code", code}};
  return after.or_zero("durable_http_requests_total", labels) -
         before.or_zero("durable_http_requests_total", labels);
}

/// Checks the errors of `ns_name` moved by `expected` (kind -> count) and
/// every other kind not at all.
void check_errors(const scrape& before, const scrape& after,
                  const std::string& ns_name,
                  std::map<std::string, double> expected) {
  for (auto* kind : error_kinds) {
    auto moved = delta(before, after, "durable_request_errors_total",
                       ns(ns_name, "kind", kind));
    BOOST_CHECK_MESSAGE(moved == expected[kind],
                        "errors of kind " << kind << " moved by " << moved
                                          << ", expected " << expected[kind]);
  }
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(metrics, fixture)

// N sequential writes: N messages, N commits of one write set each, every
// latency histogram counting exactly those N commits.
BOOST_AUTO_TEST_CASE(requests_and_commits) {
  BOOST_REQUIRE_EQUAL(get("/meter/a/put"), 200u); // activates a
  auto before = metrics();
  constexpr int n = 20;
  client c{port()};
  for (int i = 0; i < n; ++i) {
    auto r = c.request("GET", "/meter/a/put");
    BOOST_REQUIRE(r);
    BOOST_REQUIRE_EQUAL(r->result_int(), 200u);
  }
  auto after = metrics();
  BOOST_CHECK_EQUAL(delta(before, after, "durable_requests_total", ns("meter")),
                    n);
  BOOST_CHECK_EQUAL(
      delta(before, after, "durable_activations_total", ns("meter")), 0);
  BOOST_CHECK_EQUAL(after("durable_live_objects", ns("meter")), 1);
  BOOST_CHECK_EQUAL(after("durable_queued_requests", ns("meter")), 0);
  check_errors(before, after, "meter", {});
  // The first scrape's own response is counted once it went out.
  BOOST_CHECK_EQUAL(status_delta(before, after, "200"), n + 1);
  for (auto* h : {"durable_commit_write_sets", "durable_commit_seconds",
                  "durable_fsync_seconds"})
    BOOST_CHECK_MESSAGE(
        delta(before, after, std::string{h} + "_count", global) == n,
        h << "_count moved by "
          << delta(before, after, std::string{h} + "_count", global));
  // Each commit carried exactly one write set.
  BOOST_CHECK_EQUAL(
      delta(before, after, "durable_commit_write_sets_sum", global), n);
  BOOST_CHECK_EQUAL(delta(before, after, "durable_commit_write_sets_bucket",
                          {{"jurisdiction", "global"}, {"le", "1"}}),
                    n);
  BOOST_CHECK_EQUAL(
      delta(before, after, "durable_write_sets_committed_total", global), n);
  BOOST_CHECK_GT(delta(before, after, "durable_commit_seconds_sum", global), 0);
  BOOST_CHECK_GT(delta(before, after, "durable_fsync_seconds_sum", global), 0);
  BOOST_CHECK_LE(after("durable_fsync_seconds_sum", global),
                 after("durable_commit_seconds_sum", global));
  auto used = after("durable_map_used_bytes", global);
  BOOST_CHECK_GT(used, 0);
  BOOST_CHECK_LE(used, after("durable_map_size_bytes", global));
  BOOST_CHECK_LE(after("durable_map_size_bytes", global),
                 after("durable_map_max_size_bytes", global));
  BOOST_CHECK_EQUAL(after("durable_node_live_objects"), 1);
  BOOST_CHECK_EQUAL(after("durable_node_queued_requests"), 0);
}

// M requests beyond max-queued are refused as overloaded (and counted by
// reason and as errors), a throwing handler is an exception_thrown error.
BOOST_AUTO_TEST_CASE(overload_rejections_and_errors_by_kind) {
  BOOST_REQUIRE_EQUAL(get("/meter/b/ping"), 200u);
  auto before = metrics();
  client busy{port()};
  busy.send(client::format("GET", "/meter/b/sleep"));
  BOOST_REQUIRE(test::eventually([] { return sleeping == 1; }));
  constexpr int m = 5;
  client rejected{port()};
  std::string burst;
  for (int i = 0; i < m; ++i)
    burst += client::format("GET", "/meter/b/ping");
  rejected.send(burst);
  for (int i = 0; i < m; ++i) {
    auto r = rejected.read();
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 503u);
  }
  auto slow = busy.read();
  BOOST_REQUIRE(slow);
  BOOST_CHECK_EQUAL(slow->result_int(), 200u);
  BOOST_CHECK_EQUAL(get("/meter/b/throw"), 500u);
  auto after = metrics();
  BOOST_CHECK_EQUAL(delta(before, after, "durable_overload_rejections_total",
                          ns("meter", "reason", "object_queue")),
                    m);
  for (auto* reason : {"node_queue", "live_objects"})
    BOOST_CHECK_EQUAL(delta(before, after, "durable_overload_rejections_total",
                            ns("meter", "reason", reason)),
                      0);
  check_errors(before, after, "meter",
               {{"overloaded", m}, {"exception_thrown", 1}});
  BOOST_CHECK_EQUAL(delta(before, after, "durable_requests_total", ns("meter")),
                    1 + m + 1);
  BOOST_CHECK_EQUAL(status_delta(before, after, "503"), m);
  BOOST_CHECK_EQUAL(status_delta(before, after, "500"), 1);
  // The slow request and the first scrape.
  BOOST_CHECK_EQUAL(status_delta(before, after, "200"), 2);
  BOOST_CHECK_EQUAL(after("durable_queued_requests", ns("meter")), 0);
}

// One message to an object that is evicted 50 ms later: one activation, one
// eviction, nothing live.
BOOST_AUTO_TEST_CASE(activation_and_eviction) {
  auto before = metrics();
  BOOST_CHECK_EQUAL(before("durable_live_objects", ns("brief")), 0);
  BOOST_REQUIRE_EQUAL(get("/brief/x/ping"), 200u);
  BOOST_REQUIRE(
      test::eventually([this] { return briefs.live_objects() == 0; }));
  auto after = metrics();
  BOOST_CHECK_EQUAL(
      delta(before, after, "durable_activations_total", ns("brief")), 1);
  BOOST_CHECK_EQUAL(
      delta(before, after, "durable_evictions_total", ns("brief")), 1);
  BOOST_CHECK_EQUAL(after("durable_live_objects", ns("brief")), 0);
  BOOST_CHECK_EQUAL(delta(before, after, "durable_requests_total", ns("brief")),
                    1);
  // The other namespace saw nothing.
  BOOST_CHECK_EQUAL(delta(before, after, "durable_requests_total", ns("meter")),
                    0);
}

// An alarm that runs, and one whose handler always throws: retried 6 times,
// then dropped (the clock is moved on instead of waiting).
BOOST_AUTO_TEST_CASE(alarms_due_delivered_retried_dropped) {
  auto before = metrics();
  BOOST_REQUIRE_EQUAL(get("/meter/c/alarm"), 200u);
  BOOST_REQUIRE(test::eventually([] { return alarms_ran == 1; }));
  BOOST_REQUIRE_EQUAL(get("/meter/d/alarm-fail"), 200u);
  for (int attempt = 1; attempt <= 7; ++attempt) {
    BOOST_REQUIRE(
        test::eventually([attempt] { return alarm_throws == attempt; }));
    *clock += 3'600'000; // past any backoff
  }
  auto dropped = "durable_alarms_dropped_total{namespace=\"meter\"} 1\n";
  BOOST_REQUIRE(test::eventually([this, dropped] {
    return dep.metrics().find(dropped) != std::string::npos;
  }));
  auto after = metrics();
  auto moved = [&](const char* name) {
    return delta(before, after, name, ns("meter"));
  };
  BOOST_CHECK_EQUAL(moved("durable_alarms_due_total"), 2);
  BOOST_CHECK_EQUAL(moved("durable_alarms_delivered_total"), 1);
  BOOST_CHECK_EQUAL(moved("durable_alarms_failed_total"), 7);
  BOOST_CHECK_EQUAL(moved("durable_alarms_retried_total"), 6);
  BOOST_CHECK_EQUAL(moved("durable_alarms_dropped_total"), 1);
  BOOST_CHECK_EQUAL(alarms_ran, 1);
  BOOST_CHECK_EQUAL(alarm_throws, 7);
  // Each failed delivery is a request answered with the handler's error.
  check_errors(before, after, "meter", {{"exception_thrown", 7}});
  // Two HTTP requests, one delivery that ran, eight to the failing alarm.
  BOOST_CHECK_EQUAL(moved("durable_requests_total"), 2 + 1 + 8);
}

// The route: HEAD, a query, other methods, a reserved segment, and a client
// that leaves in the middle of a scrape.
BOOST_AUTO_TEST_CASE(route) {
  {
    client c{port()};
    auto r = c.request("HEAD", "/metrics");
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 200u);
    BOOST_CHECK(r->body().empty());
  }
  BOOST_CHECK_EQUAL(get("/metrics?name[]=durable_requests_total"), 200u);
  {
    client c{port()};
    auto r = c.request("POST", "/metrics", "x");
    BOOST_REQUIRE(r);
    BOOST_CHECK_EQUAL(r->result_int(), 405u);
    BOOST_CHECK_EQUAL(durable::test::header(*r, "allow"), "GET, HEAD");
  }
  // Not the metrics route: an unknown binding.
  BOOST_CHECK_EQUAL(get("/metricsx/a"), 404u);
  BOOST_CHECK_EQUAL(get("/metrics/x"), 404u);
  for (int i = 0; i < 20; ++i) {
    client c{port()};
    c.send(client::format("GET", "/metrics"));
  } // closed at once, response unread
  metrics();
  // Reserved before start, refused after.
  durable::http::server other{sys};
  BOOST_CHECK(!other.serve_metrics(dep));
  BOOST_CHECK(other.bind("metrics", meters));
  durable::http::server third{sys};
  BOOST_CHECK(!third.bind("metrics", meters));
  BOOST_CHECK(third.serve_metrics(dep));
  BOOST_CHECK(srv->serve_metrics(dep)); // started already
}

// Scrapes while clients keep sending: every exposition parses, counters
// never go back.
BOOST_AUTO_TEST_CASE(scrapes_under_load) {
  std::atomic<bool> done{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 2; ++t)
    load.emplace_back([this, t, &done] {
      client c{port()};
      std::string burst;
      for (int i = 0; i < 16; ++i)
        burst += client::format("GET", "/meter/l" + std::to_string(i % 4 + t) +
                                           (i % 2 == 0 ? "/put" : "/ping"));
      while (!done) {
        c.send(burst);
        for (int i = 0; i < 16; ++i)
          if (!c.read())
            return;
      }
    });
  double last = 0;
  for (int i = 0; i < 10; ++i) {
    auto s = metrics();
    auto now = s("durable_requests_total", ns("meter"));
    BOOST_CHECK_GE(now, last);
    last = now;
  }
  done = true;
  for (auto& t : load)
    t.join();
  BOOST_CHECK_GT(last, 0);
}

BOOST_AUTO_TEST_SUITE_END()

// Two deployments in one process keep their own figures.
BOOST_AUTO_TEST_CASE(deployments_keep_their_own_figures) {
  test::temp_dir dir_a;
  test::temp_dir dir_b;
  durable::config cfg;
  caf::actor_system sys{test::fixture::init(cfg)};
  auto sa = test::test_settings();
  sa.data_dir = dir_a.path + "/data";
  auto sb = test::test_settings();
  sb.data_dir = dir_b.path + "/data";
  sb.secret_hex = std::string(64, 'b');
  auto a = test::fixture::open(sys, sa);
  auto b = test::fixture::open(sys, sb);
  auto left = fixture::must(a.bind<test::counter>("left"));
  auto right = fixture::must(b.bind<test::counter>("right"));
  for (int i = 0; i < 3; ++i)
    BOOST_REQUIRE(left.get_by_name("x").call(5s, test::inc_atom::value));
  auto ma = parse(a.metrics());
  auto mb = parse(b.metrics());
  check_structure(ma);
  check_structure(mb);
  BOOST_CHECK_EQUAL(ma("durable_requests_total", ns("left")), 3);
  BOOST_CHECK_EQUAL(ma("durable_activations_total", ns("left")), 1);
  BOOST_CHECK(!ma.contains("durable_requests_total", ns("right")));
  BOOST_CHECK_EQUAL(mb("durable_requests_total", ns("right")), 0);
  BOOST_CHECK_EQUAL(mb("durable_activations_total", ns("right")), 0);
  BOOST_CHECK(!mb.contains("durable_requests_total", ns("left")));
  (void)right;
}

// Label values and help texts are escaped so that any name reads back as it
// was: a namespace name with a quote and a backslash, and (through the
// writer directly) a newline.
BOOST_AUTO_TEST_CASE(escaping) {
  test::fixture f;
  std::string odd = "we\"ird\\name";
  f.bind<test::counter>(odd);
  auto s = parse(f.dep.metrics());
  check_structure(s);
  BOOST_CHECK_EQUAL(s("durable_requests_total", ns(odd)), 0);
  durable::metrics_text out;
  out.family("x_total", durable::metric_type::counter, "a\\b\nc");
  out.sample("x_total", {{"l", "1\n2\"3\\4"}}, uint64_t{7});
  out.family("y", durable::metric_type::gauge, "g");
  out.sample("y", {}, -2.5);
  auto t = parse(out.str());
  BOOST_CHECK_EQUAL(t("x_total", {{"l", "1\n2\"3\\4"}}), 7);
  BOOST_CHECK_EQUAL(t("y"), -2.5);
  BOOST_CHECK_EQUAL(t.families[0]["help"].get<std::string>(), "a\\b\nc");
}
