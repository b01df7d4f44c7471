// hot_object: durable increments/s on one object with many requests in
// flight, each reply after fsync; beside raw LMDB with one fsync'd commit per
// increment and raw LMDB batching 100 increments per commit.

#include <string>

#include "bench.hpp"
#include "load.hpp"
#include "raw_lmdb.hpp"

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 64));
  int threads = static_cast<int>(opts.get("threads", 2));
  bench::durable_setup env{threads};
  auto& sys = env.sys;
  auto& dir = env.dir;
  auto ns = env.bind<bench::stored_counter>("hot");
  std::vector<bench::counter_stub> stubs{ns.get_by_name("hot")};
  bench::raw_lmdb raw{dir.path + "/raw"};
  auto one_key = [] { return uint32_t{1}; };
  bench::report r;
  r.name = "hot_object";
  r.unit = "increments/s";
  r.baseline_name = "raw LMDB, one fsync'd commit per increment";
  r.params = {{"clients", std::to_string(clients)},
              {"caf_threads", std::to_string(threads)},
              {"depth_per_client", std::to_string(depth)},
              {"in_flight", std::to_string(clients * depth)},
              {"seconds_per_run", std::to_string(opts.seconds)}};
  std::vector<double> batched;
  bench::progress prog{r.name};
  std::vector<double> batch;
  for (int run = 0; run < opts.runs; ++run) {
    uint64_t failures = 0;
    auto before = env.writer_stats();
    r.runs.push_back(bench::run_load(
        sys, stubs, clients, depth, opts.seconds, [](int) { return 0; },
        &failures));
    batch.push_back(env.write_sets_per_commit(before));
    if (failures > 0)
      std::fprintf(stderr, "%llu failed increments\n",
                   static_cast<unsigned long long>(failures));
    r.baseline_runs.push_back(raw.run(opts.seconds, 1, one_key));
    batched.push_back(raw.run(opts.seconds, 100, one_key));
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": object " +
                std::to_string(static_cast<long>(r.runs.back())) +
                "/s, raw LMDB " +
                std::to_string(static_cast<long>(r.baseline_runs.back())) +
                "/s, raw LMDB x100 " +
                std::to_string(static_cast<long>(batched.back())) + "/s");
  }
  prog.done();
  r.figures["raw_lmdb_batched_100_median"] = bench::summary::of(batched).median;
  r.figures["ratio_to_batched_100"] =
      bench::summary::of(r.runs).median / bench::summary::of(batched).median;
  r.figures["write_sets_per_commit_median"] = bench::summary::of(batch).median;
  r.figures["goal"] = 100000;
  bench::write(opts, r);
  return 0;
}
