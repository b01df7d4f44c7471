// million: touch 1 M distinct objects (one durable increment each, a bounded
// number in flight) with idle eviction on; peak RSS, and RSS once every
// object has been evicted.
//
// Each run is a fresh forked process: its peak RSS (VmHWM, reset once the
// deployment is open) is its own. Clients derive each stub from the object's
// name as a user would (`get_by_name`), so no table of 1 M stubs inflates
// the process. After the last reply the run waits until the namespace
// reports no live object, then reads VmRSS ("after eviction"), and once more
// after malloc_trim(0), which tells memory still held by the program from
// free memory the allocator keeps.
//
// There is no baseline: the figures are absolute (goal: peak <= 2 GiB). The
// JSON's baseline is "none (absolute)" with median 0 and ratio 0; beside the
// figures it carries the per-object RSS measured by `activation` (read from
// activation_rss.json in the same output directory, if present).

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "drive.hpp"
#include "load.hpp"
#include "proc.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

enum result_index {
  r_peak,       // VmHWM during the run, bytes
  r_start,      // VmRSS with the deployment open, bytes
  r_after,      // VmRSS after every object was evicted, bytes
  r_after_trim, // the same after malloc_trim(0), bytes
  r_peak_live,  // most live objects seen (sampled)
  r_rate,       // touches per second
  r_evict_wait, // seconds from the last reply until no object was live
  r_failed,     // failed requests
  r_left_live,  // live objects when the wait gave up (0: all evicted)
  r_anon_start, // RssAnon with the deployment open, bytes
  r_anon_peak,  // most RssAnon seen (sampled), bytes
  r_anon_after, // RssAnon after eviction, bytes
  r_file_after, // RssFile after eviction (LMDB's map, the binary), bytes
  r_count
};

std::vector<double> measure(size_t n, int clients, int depth,
                            caf::timespan idle, int run,
                            bench::progress& prog) {
  // Leaked on purpose: the child leaves with _exit.
  auto& env = *new bench::durable_setup;
  durable::namespace_options opts;
  opts.idle_timeout = idle;
  auto ns = env.bind<bench::stored_counter>("million", opts);
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  bench::reset_peak_rss();
  std::vector<double> result(r_count, 0);
  result[r_start] = bench::rss_bytes();
  result[r_anon_start] = bench::proc_status_bytes("RssAnon");
  auto prefix = "m" + std::to_string(run) + "-";
  auto send = [ns, prefix](caf::event_based_actor* self, size_t i, auto done) {
    ns.get_by_name(prefix + std::to_string(i))
        .request(self, caf::infinite, bench::inc_atom::value)
        .then([done](int64_t) { done(true); },
              [done](caf::error&) { done(false); });
  };
  auto& st = *new bench::drive_state;
  st.total = n;
  auto start = clock_type::now();
  for (int i = 0; i < clients; ++i)
    env.sys.spawn(bench::driver<decltype(send)>, &st, depth, send);
  double peak_live = 0;
  double peak_anon = 0;
  // live_objects() walks the namespace's whole map under its shard locks:
  // sample sparingly, or the sampling itself slows the run.
  auto sample = [&] {
    auto live = static_cast<double>(ns.live_objects());
    peak_live = std::max(peak_live, live);
    peak_anon = std::max(peak_anon, bench::proc_status_bytes("RssAnon"));
    return live;
  };
  while (st.done.load() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
    auto live = sample();
    prog.tick("run " + std::to_string(run + 1) + ": " +
              std::to_string(st.done.load()) + "/" + std::to_string(n) +
              " touched, " + bench::fixed(live) + " live, RSS " +
              bench::fixed(bench::rss_bytes() / bench::mib) + " MiB");
  }
  auto last_reply = st.finish_time();
  result[r_rate] = static_cast<double>(n) /
                   std::chrono::duration<double>(last_reply - start).count();
  result[r_failed] = static_cast<double>(st.failed.load());
  // Wait for eviction: 1.25 idle timeouts plus slack, bounded.
  auto give_up = clock_type::now() + 10 * idle + std::chrono::seconds{30};
  double live = sample();
  while (live > 0 && clock_type::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds{250});
    live = sample();
    prog.tick("run " + std::to_string(run + 1) + ": waiting for eviction, " +
              bench::fixed(live) + " live");
  }
  result[r_evict_wait] = bench::seconds_since(last_reply);
  result[r_left_live] = live;
  result[r_peak_live] = peak_live;
  result[r_anon_peak] = peak_anon;
  // Let the evicted actors' last messages drain and their memory go.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  result[r_after] = bench::rss_bytes();
  result[r_peak] = bench::peak_rss_bytes();
  result[r_anon_after] = bench::proc_status_bytes("RssAnon");
  result[r_file_after] = bench::proc_status_bytes("RssFile");
  malloc_trim(0);
  result[r_after_trim] = bench::rss_bytes();
  bench::remove_tree(env.dir.path);
  return result;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = bench::options::parse(argc, argv);
  auto n =
      static_cast<size_t>(opts.get("objects", opts.quick ? 50000 : 1000000));
  int clients = static_cast<int>(opts.get("clients", 4));
  int depth = static_cast<int>(opts.get("depth", 64));
  auto idle_ms = opts.get("idle-ms", opts.quick ? 500 : 2000);
  caf::timespan idle = std::chrono::milliseconds{idle_ms};
  bench::progress prog{"million"};
  std::vector<std::vector<double>> runs;
  for (int run = 0; run < opts.runs; ++run) {
    runs.push_back(bench::in_child(
        [&] { return measure(n, clients, depth, idle, run, prog); }));
    auto& r = runs.back();
    if (r[r_failed] > 0 || r[r_left_live] > 0)
      std::fprintf(stderr, "\nrun %d: %.0f failed requests, %.0f still live\n",
                   run + 1, r[r_failed], r[r_left_live]);
    prog.update("run " + std::to_string(run + 1) + "/" +
                std::to_string(opts.runs) + ": peak " +
                bench::fixed(r[r_peak] / bench::mib) + " MiB (" +
                bench::fixed(r[r_peak_live]) + " live), after eviction " +
                bench::fixed(r[r_after] / bench::mib) + " MiB, " +
                bench::fixed(r[r_rate]) + " touches/s");
  }
  prog.done();
  auto col = [&](result_index i, double scale = 1) {
    std::vector<double> xs;
    for (auto& r : runs)
      xs.push_back(r[i] / scale);
    return bench::summary::of(xs).median;
  };
  bench::report r;
  r.name = "million";
  r.unit = "MiB peak RSS";
  for (auto& x : runs)
    r.runs.push_back(x[r_peak] / bench::mib);
  r.baseline_name = "none (absolute)";
  r.figures["goal_peak_mib"] = 2048;
  r.figures["rss_start_mib"] = col(r_start, bench::mib);
  r.figures["rss_after_eviction_mib"] = col(r_after, bench::mib);
  r.figures["rss_after_eviction_trimmed_mib"] = col(r_after_trim, bench::mib);
  r.figures["peak_live_objects"] = col(r_peak_live);
  std::vector<double> per_object;
  for (auto& x : runs)
    if (x[r_peak_live] > 0)
      per_object.push_back((x[r_peak] - x[r_start]) / x[r_peak_live]);
  r.figures["peak_growth_bytes_per_live_object"] =
      bench::summary::of(per_object).median;
  std::vector<double> anon_per_object;
  for (auto& x : runs)
    if (x[r_peak_live] > 0)
      anon_per_object.push_back((x[r_anon_peak] - x[r_anon_start]) /
                                x[r_peak_live]);
  r.figures["peak_anon_growth_bytes_per_live_object"] =
      bench::summary::of(anon_per_object).median;
  r.figures["anon_peak_mib"] = col(r_anon_peak, bench::mib);
  r.figures["anon_after_eviction_mib"] = col(r_anon_after, bench::mib);
  r.figures["file_after_eviction_mib"] = col(r_file_after, bench::mib);
  r.figures["activation_bytes_per_object"] =
      bench::read_json_number(opts.out_dir, "activation_rss", "median", 0);
  r.figures["touches_per_second"] = col(r_rate);
  r.figures["eviction_wait_seconds"] = col(r_evict_wait);
  r.params = {{"objects", std::to_string(n)},
              {"request", "one durable increment per object (stored_counter)"},
              {"idle_timeout_ms", std::to_string(idle_ms)},
              {"clients", std::to_string(clients)},
              {"in_flight", std::to_string(clients * depth)},
              {"isolation", "each run in a fresh forked process"},
              {"peak", "VmHWM, reset after the deployment opened"},
              {"baseline",
               "none: absolute figures; activation_bytes_per_object "
               "from activation_rss.json for comparison"}};
  bench::write(opts, r);
  return 0;
}
