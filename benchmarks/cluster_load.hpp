#pragma once

// Measurements shared by the cluster benchmarks: throughput with each
// node's CPU per request, alternating variants against a baseline, and
// one-at-a-time latencies.

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bench.hpp"
#include "drive.hpp"
#include "load.hpp"
#include "proc.hpp"

namespace bench::cluster {

using clock_type = std::chrono::steady_clock;

/// One throughput measurement: requests/s, and CPU microseconds per
/// request of each node's process over the counted window.
struct sample {
  double rate = 0;
  double cpu_a = 0;
  double cpu_b = 0;
};

/// Requests/s of `clients` actors with `depth` in flight each, round-robin
/// over `targets` (stubs or plain actor handles); `b` is node B's process.
template <class Targets>
sample throughput(caf::actor_system& sys, pid_t b, int clients, int depth,
                  const Targets& targets, double seconds) {
  uint64_t failed = 0;
  // CPU seconds of A and B and the time, at the window's start and end.
  std::vector<std::array<double, 3>> edges;
  auto edge = [&] {
    edges.push_back({bench::cpu_seconds(), bench::cpu_seconds(b),
                     bench::seconds_since(clock_type::time_point{})});
  };
  auto send = [&targets](caf::event_based_actor* self, int, uint64_t seq,
                         auto done) {
    bench::request_inc(self, targets[seq % targets.size()], done);
  };
  sample x;
  x.rate =
      bench::run_load_with(sys, clients, depth, seconds, send, &failed, edge);
  if (failed > 0)
    throw std::runtime_error(std::to_string(failed) + " requests failed");
  auto requests = x.rate * (edges[1][2] - edges[0][2]);
  x.cpu_a = 1e6 * (edges[1][0] - edges[0][0]) / requests;
  x.cpu_b = 1e6 * (edges[1][1] - edges[0][1]) / requests;
  return x;
}

using variant = std::pair<std::string, std::function<sample()>>;

/// Runs `runs` rounds of the variants (ours, the baseline, then extra ones
/// named in the figures) into `r`, in reverse order every other round, with
/// the CPU figures and the median of each round's ratio of ours to the
/// baseline (robust to drift between rounds).
inline void alternate(const bench::options& opts, bench::report& r,
                      const std::string& unit, std::vector<variant> variants) {
  std::map<std::string, std::vector<double>> series;
  bench::progress prog{r.name};
  for (int run = 0; run < opts.runs; ++run) {
    std::map<size_t, double> rates;
    for (size_t n = 0; n < variants.size(); ++n) {
      auto i = run % 2 == 0 ? n : variants.size() - 1 - n;
      auto& [name, fn] = variants[i];
      auto x = fn();
      rates[i] = x.rate;
      auto prefix = i == 0 ? std::string{} : name + "_";
      if (i > 1)
        series[name + "_per_second"].push_back(x.rate);
      series[prefix + "a_cpu_us_per_request"].push_back(x.cpu_a);
      series[prefix + "b_cpu_us_per_request"].push_back(x.cpu_b);
    }
    r.runs.push_back(rates[0]);
    r.baseline_runs.push_back(rates[1]);
    series["paired_ratio"].push_back(rates[0] / rates[1]);
    std::string line = "run " + std::to_string(run + 1) + "/" +
                       std::to_string(opts.runs) + ":";
    for (auto& [i, rate] : rates)
      line += (i ? " | " : " ") + variants[i].first + " " + bench::fixed(rate) +
              " " + unit;
    prog.update(line);
  }
  prog.done();
  for (auto& [k, xs] : series)
    r.figures[k + "_median"] = bench::summary::of(xs).median;
}

/// Latencies in us of one request to each of `targets`, one at a time.
template <class Targets>
std::vector<double> one_at_a_time(caf::actor_system& sys,
                                  const Targets& targets) {
  std::vector<double> lat(targets.size());
  bench::drive_state st;
  st.total = targets.size();
  auto send = [&](caf::event_based_actor* self, size_t i, auto done) {
    auto t0 = clock_type::now();
    bench::request_inc(self, targets[i], [=, &lat](bool ok) {
      lat[i] = std::chrono::duration<double, std::micro>(clock_type::now() - t0)
                   .count();
      done(ok);
    });
  };
  auto client = sys.spawn(bench::driver<decltype(send)>, &st, 1, send);
  auto give_up = clock_type::now() + std::chrono::minutes{1};
  while (st.done.load() < st.total && clock_type::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  if (st.done.load() < st.total || st.failed.load() > 0)
    throw std::runtime_error("one-at-a-time requests failed or stalled");
  std::sort(lat.begin(), lat.end());
  return lat;
}

/// The p50 and p99 of one-at-a-time latencies per variant, one value per
/// run, and what goes into the report.
class latency_series {
public:
  /// Records the sorted latencies `lat` (us) of variant `what`.
  void record(const std::string& what, const std::vector<double>& lat) {
    series_[what + "_p50_us"].push_back(bench::quantile_sorted(lat, 0.5));
    series_[what + "_p99_us"].push_back(bench::quantile_sorted(lat, 0.99));
  }

  /// "named 350/900 us, unique 400/1000 us" for the last run of `names`.
  std::string last(const std::vector<std::string>& names) {
    std::string result;
    for (auto& x : names)
      result += (result.empty() ? "" : ", ") + x + " " +
                bench::fixed(series_[x + "_p50_us"].back()) + "/" +
                bench::fixed(series_[x + "_p99_us"].back()) + " us";
    return result;
  }

  /// The p99s of `ours` and `baseline` as the report's runs, and the
  /// median over runs of every percentile as its figures.
  void fill(bench::report& r, const std::string& ours,
            const std::string& baseline) {
    r.runs = series_[ours + "_p99_us"];
    r.baseline_runs = series_[baseline + "_p99_us"];
    for (auto& [k, xs] : series_)
      r.figures[k] = bench::summary::of(xs).median;
  }

private:
  std::map<std::string, std::vector<double>> series_;
};

} // namespace bench::cluster
