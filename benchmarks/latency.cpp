// latency: p50 / p99 / p99.9 latency of durable increments (reply after
// fsync) at a fixed offered load of half the measured peak; beside the
// latency of one fsync'd raw LMDB commit.
//
// First the peak: `run_load` over 1000 objects (4 clients x 64 in flight).
// Then, per run, two open-loop sender actors offer half that rate between
// them: every 250 us each sends all requests due by then (so a stalled
// sender catches up in a burst instead of lowering the load), round-robin
// over the objects, and never waits for replies. A request's latency runs
// from just before `stub.request` to its reply handler in the sender. The
// first 200 ms of each run are not recorded. Then the baseline: single
// increments of one key in a raw LMDB environment, one fsync'd commit each,
// timed one by one.
//
// The JSON's median (and min/max/runs) is the p99 in microseconds, ours and
// baseline; all percentiles are in `figures` (medians over the runs).

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "load.hpp"
#include "proc.hpp"
#include "raw_lmdb.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

constexpr auto tick_interval = std::chrono::microseconds{250};
constexpr auto warm_up = std::chrono::milliseconds{200};

/// The schedule shared by the senders of one run.
struct schedule {
  const std::vector<bench::counter_stub>* stubs = nullptr;
  double rate = 0; ///< requests/s per sender
  int senders = 1;
  clock_type::time_point start;
  clock_type::time_point record_from;
  clock_type::time_point end;
  std::atomic<int> running{0};
};

/// What one sender saw.
struct sender_log {
  std::vector<double> latency_us;
  uint64_t sent = 0;
  uint64_t replies = 0;
  uint64_t failed = 0;
  double max_lag_us = 0;
};

double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

caf::behavior sender(caf::event_based_actor* self, schedule* sch,
                     sender_log* log, int id) {
  auto outstanding = std::make_shared<uint64_t>(0);
  auto finished = std::make_shared<bool>(false);
  auto settle = [=] {
    if (*finished && *outstanding == 0) {
      sch->running.fetch_sub(1);
      self->quit();
    }
  };
  auto n = sch->stubs->size();
  self->send(self, tick_atom::value);
  return {[=](tick_atom) {
    auto now = clock_type::now();
    auto horizon = std::min(now, sch->end);
    auto due = static_cast<uint64_t>(
        sch->rate *
        std::chrono::duration<double>(horizon - sch->start).count());
    if (log->sent < due) {
      // How late the oldest due request goes out.
      auto planned =
          sch->start + std::chrono::duration_cast<clock_type::duration>(
                           std::chrono::duration<double>(
                               static_cast<double>(log->sent) / sch->rate));
      log->max_lag_us = std::max(log->max_lag_us, micros(now - planned));
    }
    while (log->sent < due) {
      auto k = (log->sent * static_cast<uint64_t>(sch->senders) +
                static_cast<uint64_t>(id)) %
               n;
      ++log->sent;
      ++*outstanding;
      auto t0 = clock_type::now();
      bool record = t0 >= sch->record_from;
      (*sch->stubs)[k]
          .request(self, caf::infinite, bench::inc_atom::value)
          .then(
              [=](int64_t) {
                ++log->replies;
                if (record)
                  log->latency_us.push_back(micros(clock_type::now() - t0));
                --*outstanding;
                settle();
              },
              [=](caf::error&) {
                ++log->failed;
                --*outstanding;
                settle();
              });
    }
    if (now >= sch->end) {
      *finished = true;
      settle();
    } else {
      self->delayed_send(self, tick_interval, tick_atom::value);
    }
  }};
}

struct percentiles {
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;

  static percentiles of(std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return {bench::quantile_sorted(xs, 0.5), bench::quantile_sorted(xs, 0.99),
            bench::quantile_sorted(xs, 0.999)};
  }
};

struct paced_result {
  percentiles lat;
  double achieved = 0; ///< replies/s over the whole run
  double max_lag_us = 0;
  uint64_t failed = 0;
  size_t samples = 0;
};

paced_result run_paced(caf::actor_system& sys,
                       const std::vector<bench::counter_stub>& stubs,
                       double rate, double seconds, int senders) {
  schedule sch;
  sch.stubs = &stubs;
  sch.rate = rate / senders;
  sch.senders = senders;
  sch.start = clock_type::now();
  sch.record_from = sch.start + warm_up;
  sch.end = sch.record_from + std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(seconds));
  sch.running = senders;
  std::vector<sender_log> logs(static_cast<size_t>(senders));
  for (auto& log : logs)
    log.latency_us.reserve(static_cast<size_t>(sch.rate * (seconds + 1)));
  for (int i = 0; i < senders; ++i)
    sys.spawn(sender, &sch, &logs[static_cast<size_t>(i)], i);
  // Replies are held for at most a few commits; a minute means it is stuck.
  auto give_up = sch.end + std::chrono::minutes{1};
  while (sch.running.load() > 0 && clock_type::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (sch.running.load() > 0)
    throw std::runtime_error("senders did not finish");
  paced_result result;
  std::vector<double> all;
  uint64_t replies = 0;
  for (auto& log : logs) {
    all.insert(all.end(), log.latency_us.begin(), log.latency_us.end());
    replies += log.replies;
    result.failed += log.failed;
    result.max_lag_us = std::max(result.max_lag_us, log.max_lag_us);
  }
  result.samples = all.size();
  result.lat = percentiles::of(std::move(all));
  result.achieved = static_cast<double>(replies) /
                    std::chrono::duration<double>(sch.end - sch.start).count();
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  auto objects = static_cast<size_t>(opts.get("objects", 1000));
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 64));
  int senders = static_cast<int>(opts.get("senders", 2));
  auto raw_commits =
      static_cast<int>(opts.get("raw-commits", opts.quick ? 300 : 2000));
  bench::durable_setup env;
  auto ns = env.bind<bench::stored_counter>("latency");
  std::vector<bench::counter_stub> stubs;
  for (size_t i = 0; i < objects; ++i)
    stubs.push_back(ns.get_by_name("l" + std::to_string(i)));
  bench::raw_lmdb raw{env.dir.path + "/raw"};
  std::vector<std::mt19937_64> rngs;
  for (int i = 0; i < clients; ++i)
    rngs.emplace_back(7 + i);
  auto pick = [&](int c) {
    return std::uniform_int_distribution<size_t>{0, objects - 1}(rngs[c]);
  };
  bench::progress prog{"latency"};
  prog.update("measuring the peak over " + std::to_string(objects) +
              " objects");
  // Activate every object, then measure the peak.
  bench::run_load(env.sys, stubs, clients, depth, opts.quick ? 0.2 : 1.0, pick);
  uint64_t failures = 0;
  auto peak = bench::run_load(env.sys, stubs, clients, depth, opts.seconds,
                              pick, &failures);
  auto offered = peak / 2;
  prog.update("peak " + bench::fixed(peak) + " increments/s; offering " +
              bench::fixed(offered) + "/s");
  bench::report r;
  r.name = "latency";
  r.unit = "us (p99)";
  r.baseline_name = "raw LMDB, one fsync'd commit (p99)";
  std::vector<double> p50, p999, raw50, raw999, achieved, lag, samples;
  uint64_t failed = failures;
  for (int run = 0; run < opts.runs; ++run) {
    auto res = run_paced(env.sys, stubs, offered, opts.seconds, senders);
    failed += res.failed;
    std::vector<double> commits;
    commits.reserve(static_cast<size_t>(raw_commits));
    for (int i = 0; i < raw_commits; ++i)
      commits.push_back(raw.commit_latency_us(static_cast<uint32_t>(i)));
    auto rl = percentiles::of(std::move(commits));
    p50.push_back(res.lat.p50);
    r.runs.push_back(res.lat.p99);
    p999.push_back(res.lat.p999);
    raw50.push_back(rl.p50);
    r.baseline_runs.push_back(rl.p99);
    raw999.push_back(rl.p999);
    achieved.push_back(res.achieved);
    lag.push_back(res.max_lag_us);
    samples.push_back(static_cast<double>(res.samples));
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + " at " + bench::fixed(offered) +
                "/s: p50 " + bench::fixed(res.lat.p50) + " us, p99 " +
                bench::fixed(res.lat.p99) + " us, p99.9 " +
                bench::fixed(res.lat.p999) + " us | raw LMDB commit p50 " +
                bench::fixed(rl.p50) + " us, p99 " + bench::fixed(rl.p99) +
                " us");
  }
  prog.done();
  if (failed > 0)
    std::fprintf(stderr, "%llu failed increments\n",
                 static_cast<unsigned long long>(failed));
  auto med = [](const std::vector<double>& xs) {
    return bench::summary::of(xs).median;
  };
  r.figures["p50_us"] = med(p50);
  r.figures["p99_us"] = med(r.runs);
  r.figures["p999_us"] = med(p999);
  r.figures["raw_p50_us"] = med(raw50);
  r.figures["raw_p99_us"] = med(r.baseline_runs);
  r.figures["raw_p999_us"] = med(raw999);
  r.figures["peak_per_second"] = peak;
  r.figures["offered_per_second"] = offered;
  r.figures["achieved_per_second"] = med(achieved);
  r.figures["sender_max_lag_us"] = med(lag);
  r.figures["samples_per_run"] = med(samples);
  r.params = {
      {"objects", std::to_string(objects)},
      {"peak_load", std::to_string(clients) + " clients x " +
                        std::to_string(depth) + " in flight, " +
                        bench::fixed(opts.seconds, 1) + " s"},
      {"offered_load", "half the peak, open loop, " + std::to_string(senders) +
                           " senders, 250 us ticks"},
      {"seconds_per_run", bench::fixed(opts.seconds, 1)},
      {"warm_up_ms", "200"},
      {"raw_commits_per_run", std::to_string(raw_commits)},
      {"median_is", "p99 latency in us (lower is better; ratio = ours / raw)"}};
  bench::write(opts, r);
  return 0;
}
