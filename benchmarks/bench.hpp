#pragma once

// Shared plumbing of the load benchmarks: options, progress output,
// statistics and the JSON report.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

/// Command-line options every benchmark understands:
/// `--quick` (short runs), `--runs N`, `--seconds S`, `--out DIR`.
struct options {
  bool quick = false;
  int runs = 5;
  double seconds = 3.0;
  std::string out_dir = "bench-results";
  std::map<std::string, std::string> extra;

  static options parse(int argc, char** argv) {
    options opts;
    if (const char* q = std::getenv("QUICK"); q && *q && *q != '0')
      opts.quick = true;
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      auto value = [&] { return i + 1 < argc ? std::string{argv[++i]} : ""; };
      if (arg == "--help" || arg == "-h") {
        std::printf("usage: %s [--quick] [--runs N] [--seconds S] [--out DIR] "
                    "[--<parameter> VALUE ...]\n"
                    "QUICK=1 in the environment means --quick; the "
                    "parameters each benchmark reads are in its JSON's "
                    "params.\n",
                    argv[0]);
        std::exit(0);
      }
      if (arg == "--quick")
        opts.quick = true;
      else if (arg == "--runs")
        opts.runs = std::max(1, std::atoi(value().c_str()));
      else if (arg == "--seconds")
        opts.seconds = std::max(0.1, std::atof(value().c_str()));
      else if (arg == "--out")
        opts.out_dir = value();
      else if (arg.rfind("--", 0) == 0)
        opts.extra[arg.substr(2)] = value();
    }
    if (opts.quick)
      opts.seconds = std::min(opts.seconds, 0.5);
    return opts;
  }

  long get(const std::string& key, long fallback) const {
    auto i = extra.find(key);
    return i == extra.end() ? fallback : std::atol(i->second.c_str());
  }
};

/// Prints progress: a live line on a terminal, plain lines otherwise.
class progress {
public:
  explicit progress(std::string name)
      : name_(std::move(name)), tty_(isatty(fileno(stderr)) != 0) {
    // nop
  }

  void update(const std::string& what) {
    if (tty_)
      std::fprintf(stderr, "\r\033[K[%s] %s", name_.c_str(), what.c_str());
    else
      std::fprintf(stderr, "[%s] %s\n", name_.c_str(), what.c_str());
    std::fflush(stderr);
  }

  /// Like `update`, for frequent calls: prints at most every 100 ms on a
  /// terminal and every 2 s otherwise.
  void tick(const std::string& what) {
    auto now = std::chrono::steady_clock::now();
    auto gap =
        tty_ ? std::chrono::milliseconds{100} : std::chrono::milliseconds{2000};
    if (now - last_tick_ < gap)
      return;
    last_tick_ = now;
    update(what);
  }

  void done() {
    if (tty_)
      std::fprintf(stderr, "\n");
  }

private:
  std::string name_;
  bool tty_;
  std::chrono::steady_clock::time_point last_tick_;
};

/// Min, median and max of a series.
struct summary {
  double min = 0;
  double median = 0;
  double max = 0;

  static summary of(std::vector<double> xs) {
    summary s;
    if (xs.empty())
      return s;
    std::sort(xs.begin(), xs.end());
    s.min = xs.front();
    s.max = xs.back();
    auto n = xs.size();
    s.median = n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
    return s;
  }
};

/// One measured series with the baseline from the same run.
struct report {
  std::string name;
  std::string unit;
  std::vector<double> runs;
  std::string baseline_name;
  std::vector<double> baseline_runs;
  /// Extra figures (e.g. a second baseline or a memory figure).
  std::map<std::string, double> figures;
  std::map<std::string, std::string> params;

  double ratio() const {
    auto b = summary::of(baseline_runs).median;
    return b > 0 ? summary::of(runs).median / b : 0;
  }
};

/// Writes `<out_dir>/<name>.json` and prints a one-line summary.
inline void write(const options& opts, const report& r) {
  using json = nlohmann::ordered_json;
  ::mkdir(opts.out_dir.c_str(), 0755);
  auto s = summary::of(r.runs);
  auto b = summary::of(r.baseline_runs);
  auto path = opts.out_dir + "/" + r.name + ".json";
  json figures = json::object();
  for (auto& [k, v] : r.figures)
    figures[k] = v;
  json params = json::object();
  for (auto& [k, v] : r.params)
    params[k] = v;
  json doc{{"name", r.name},
           {"unit", r.unit},
           {"median", s.median},
           {"min", s.min},
           {"max", s.max},
           {"runs", r.runs},
           {"baseline",
            {{"name", r.baseline_name},
             {"median", b.median},
             {"min", b.min},
             {"max", b.max},
             {"runs", r.baseline_runs}}},
           {"ratio", r.ratio()},
           {"quick", opts.quick},
           {"figures", std::move(figures)},
           {"params", std::move(params)}};
  // NaN and infinity (an empty or failed run) become null, still JSON.
  std::ofstream{path} << doc.dump(2, ' ', false, json::error_handler_t::replace)
                      << '\n';
  std::printf("%s: median %.0f %s (min %.0f, max %.0f) | %s median %.0f | "
              "ratio %.2f -> %s\n",
              r.name.c_str(), s.median, r.unit.c_str(), s.min, s.max,
              r.baseline_name.c_str(), b.median, r.ratio(), path.c_str());
}

/// Seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace bench
