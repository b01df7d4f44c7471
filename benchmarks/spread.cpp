// spread: durable increments/s over many objects (10 k by default), with a
// uniform and a Zipf (s = 1.1) choice of object; beside raw LMDB incrementing
// the same number of keys, batched the same way: as many increments per
// fsync'd commit as our writer grouped in the same run (and 100 per commit
// as a second figure).
//
// Load: 4 clients x 256 requests in flight (1 024, a tenth of the objects
// busy at once). With fsync'd commits the throughput at a fixed number of
// requests in flight is bounded by in_flight / commit latency, so the run
// also reports one measurement with 256 in flight.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "bench.hpp"
#include "load.hpp"
#include "raw_lmdb.hpp"

namespace {

/// Samples ranks 0..n-1 with P(k) proportional to 1 / (k + 1)^s.
class zipf {
public:
  zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t k = 0; k < n; ++k)
      cdf_[k] = (sum += 1.0 / std::pow(static_cast<double>(k + 1), s));
    for (auto& x : cdf_)
      x /= sum;
  }

  template <class Rng>
  size_t operator()(Rng& rng) const {
    auto u = std::uniform_real_distribution<double>{0, 1}(rng);
    auto i = std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
    return std::min(static_cast<size_t>(i), cdf_.size() - 1);
  }

private:
  std::vector<double> cdf_;
};

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 256));
  int small_depth = static_cast<int>(opts.get("small-depth", 64));
  auto objects = static_cast<size_t>(opts.get("objects", 10000));
  int threads = static_cast<int>(opts.get("threads", 2));
  bench::durable_setup env{threads};
  auto& sys = env.sys;
  auto& dir = env.dir;
  auto ns = env.bind<bench::stored_counter>("spread");
  std::vector<bench::counter_stub> stubs;
  for (size_t i = 0; i < objects; ++i)
    stubs.push_back(ns.get_by_name("c" + std::to_string(i)));
  bench::raw_lmdb raw{dir.path + "/raw"};
  zipf dist{objects, 1.1};
  // One generator per client: the picker runs on several threads.
  std::vector<std::mt19937_64> rngs;
  for (int i = 0; i < clients + 1; ++i)
    rngs.emplace_back(1000 + i);
  auto uniform = [&](int c) {
    return std::uniform_int_distribution<size_t>{0, objects - 1}(rngs[c]);
  };
  auto zipfian = [&](int c) { return dist(rngs[c]); };
  auto raw_uniform = [&] { return static_cast<uint32_t>(uniform(clients)); };
  auto raw_zipf = [&] { return static_cast<uint32_t>(zipfian(clients)); };
  bench::progress prog{"spread"};
  // Touch every object once so that the runs measure steady state.
  bench::run_load(sys, stubs, clients, depth, opts.quick ? 0.2 : 1.0,
                  [&](int c) { return uniform(c); });
  for (auto [name, pick, raw_pick] :
       {std::make_tuple(std::string{"spread_uniform"},
                        bench::target_picker{uniform},
                        std::function<uint32_t()>{raw_uniform}),
        std::make_tuple(std::string{"spread_zipf"},
                        bench::target_picker{zipfian},
                        std::function<uint32_t()>{raw_zipf})}) {
    bench::report r;
    r.name = name;
    r.unit = "increments/s";
    r.baseline_name =
        "raw LMDB, as many increments per fsync'd commit as our writer "
        "grouped";
    r.params = {
        {"objects", std::to_string(objects)},
        {"distribution", name == "spread_zipf" ? "zipf s=1.1" : "uniform"},
        {"clients", std::to_string(clients)},
        {"caf_threads", std::to_string(threads)},
        {"in_flight", std::to_string(clients * depth)},
        {"seconds_per_run", std::to_string(opts.seconds)}};
    std::vector<double> batch;
    std::vector<double> raw100;
    for (int run = 0; run < opts.runs; ++run) {
      auto before = env.writer_stats();
      r.runs.push_back(
          bench::run_load(sys, stubs, clients, depth, opts.seconds, pick));
      batch.push_back(env.write_sets_per_commit(before));
      auto same_batch = std::max(1, static_cast<int>(batch.back() + 0.5));
      r.baseline_runs.push_back(raw.run(opts.seconds, same_batch, raw_pick));
      raw100.push_back(raw.run(opts.seconds, 100, raw_pick));
      prog.update(name + " run " + std::to_string(run + 1) + "/" +
                  std::to_string(opts.runs) + ": objects " +
                  std::to_string(static_cast<long>(r.runs.back())) + "/s (" +
                  std::to_string(same_batch) +
                  " write sets per commit), raw LMDB same batch " +
                  std::to_string(static_cast<long>(r.baseline_runs.back())) +
                  "/s, x100 " +
                  std::to_string(static_cast<long>(raw100.back())) + "/s");
    }
    // One run with fewer requests in flight shows the latency bound.
    auto small =
        bench::run_load(sys, stubs, clients, small_depth, opts.seconds, pick);
    prog.update(name + ": " + std::to_string(clients * small_depth) +
                " in flight " + std::to_string(static_cast<long>(small)) +
                "/s");
    r.figures["write_sets_per_commit_median"] =
        bench::summary::of(batch).median;
    r.figures["raw_lmdb_batched_100_median"] =
        bench::summary::of(raw100).median;
    r.figures["in_flight_" + std::to_string(clients * small_depth)] = small;
    r.figures["goal"] = 150000;
    prog.done();
    bench::write(opts, r);
  }
  return 0;
}
