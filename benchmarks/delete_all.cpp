// How long does a delete_all of a large object hold the environment's
// writer? Measures the longest single write transaction and the worst commit
// latency of another object while an object of `--keys` keys (default 1 M)
// is deleted, with chunked deletion (`--chunk`, the storage default) against
// the baseline of one transaction for the whole object (the behaviour before
// chunking; same code with an unbounded chunk).

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "durable/storage_engine.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct outcome {
  double longest_txn_ms = 0;
  double delete_ms = 0;
  double bystander_max_ms = 0;
  double bystander_commits = 0;
};

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0)
      .count();
}

durable::object_bytes make_id(uint8_t x) {
  durable::object_bytes id;
  id.fill(x);
  return id;
}

void fail(const char* what) {
  std::fprintf(stderr, "delete_all: %s\n", what);
  std::exit(1);
}

caf::error commit(durable::storage_engine& eng, durable::object_storage& st) {
  std::promise<caf::error> done;
  auto ws = st.end_turn();
  auto seq = ws.seq();
  eng.submit(std::move(ws),
             [&done](const caf::error& err) { done.set_value(err); });
  auto err = done.get_future().get();
  if (!err)
    st.committed(seq);
  return err;
}

std::unique_ptr<durable::storage_engine> open(const std::string& dir,
                                              size_t chunk) {
  durable::storage_options opts;
  opts.data_dir = dir;
  opts.delete_chunk_keys = chunk;
  auto eng = durable::storage_engine::open(opts);
  if (!eng)
    fail("cannot open the storage engine");
  return std::move(*eng);
}

outcome run_once(const std::string& dir, long keys, size_t chunk,
                 bench::progress& prog) {
  std::filesystem::remove_all(dir);
  {
    auto eng = open(dir, chunk);
    auto st = eng->open_object(durable::jurisdiction::none, 1, make_id(1));
    for (long i = 0; i < keys;) {
      for (long j = 0; j < 20000 && i < keys; ++j, ++i)
        if (st->put("key-" + std::to_string(i), "value"))
          fail("put failed");
      if (commit(*eng, *st))
        fail("fill commit failed");
      prog.tick("filled " + std::to_string(i) + " keys");
    }
  }
  // Reopen: the writer's statistics start afresh.
  auto eng = open(dir, chunk);
  auto big = eng->open_object(durable::jurisdiction::none, 1, make_id(1));
  auto other = eng->open_object(durable::jurisdiction::none, 1, make_id(2));
  std::atomic<bool> deleting{true};
  outcome result;
  std::thread bystander{[&] {
    for (long n = 0; deleting.load(); ++n) {
      // Counts every commit submitted while the deletion runs, also the
      // one that completes only after it.
      bool during = deleting.load();
      auto t0 = clock_type::now();
      if (other->put("counter", std::to_string(n)) || commit(*eng, *other))
        fail("bystander commit failed");
      auto ms = ms_since(t0);
      if (during) {
        result.bystander_max_ms = std::max(result.bystander_max_ms, ms);
        ++result.bystander_commits;
      }
    }
  }};
  std::this_thread::sleep_for(std::chrono::milliseconds{20});
  auto t0 = clock_type::now();
  if (big->delete_all() || commit(*eng, *big))
    fail("delete_all failed");
  result.delete_ms = ms_since(t0);
  deleting = false;
  bystander.join();
  auto w = eng->writer(durable::jurisdiction::none);
  if (!w)
    fail("no writer");
  result.longest_txn_ms = (*w)->stats().longest_transaction_us / 1000.0;
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  auto keys = opts.get("keys", opts.quick ? 100000 : 1000000);
  auto chunk = static_cast<size_t>(opts.get("chunk", 10000));
  int runs = opts.quick ? 1 : opts.runs;
  char tmpl[] = "/tmp/durable-bench-delete-XXXXXX";
  if (mkdtemp(tmpl) == nullptr)
    fail("mkdtemp failed");
  std::string dir = std::string{tmpl} + "/data";
  bench::progress prog{"delete_all"};
  bench::report rep;
  rep.name = "delete_all_longest_txn";
  rep.unit = "ms";
  rep.baseline_name = "one transaction per delete_all";
  std::vector<double> delete_ms;
  std::vector<double> base_delete_ms;
  std::vector<double> bystander_ms;
  std::vector<double> base_bystander_ms;
  std::vector<double> bystander_commits;
  for (int r = 0; r < runs; ++r) {
    prog.update("run " + std::to_string(r + 1) + ": chunked");
    auto x = run_once(dir, keys, chunk, prog);
    prog.update("run " + std::to_string(r + 1) + ": one transaction");
    auto y = run_once(dir, keys, std::numeric_limits<size_t>::max() / 2, prog);
    rep.runs.push_back(x.longest_txn_ms);
    rep.baseline_runs.push_back(y.longest_txn_ms);
    delete_ms.push_back(x.delete_ms);
    base_delete_ms.push_back(y.delete_ms);
    bystander_ms.push_back(x.bystander_max_ms);
    base_bystander_ms.push_back(y.bystander_max_ms);
    bystander_commits.push_back(x.bystander_commits);
  }
  prog.done();
  std::filesystem::remove_all(tmpl);
  rep.figures["delete_ms_median"] = bench::summary::of(delete_ms).median;
  rep.figures["baseline_delete_ms_median"] =
      bench::summary::of(base_delete_ms).median;
  rep.figures["bystander_max_commit_ms_median"] =
      bench::summary::of(bystander_ms).median;
  rep.figures["baseline_bystander_max_commit_ms_median"] =
      bench::summary::of(base_bystander_ms).median;
  rep.figures["bystander_commits_during_delete_median"] =
      bench::summary::of(bystander_commits).median;
  rep.params["keys"] = std::to_string(keys);
  rep.params["chunk"] = std::to_string(chunk);
  bench::write(opts, rep);
  return 0;
}
