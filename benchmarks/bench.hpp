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

inline std::string json_escape(const std::string& x) {
  std::string out;
  for (char c : x) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

inline std::string json_array(const std::vector<double>& xs) {
  std::string out = "[";
  char buf[64];
  for (size_t i = 0; i < xs.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.6g", i ? ", " : "", xs[i]);
    out += buf;
  }
  return out + "]";
}

/// Writes `<out_dir>/<name>.json` and prints a one-line summary.
inline void write(const options& opts, const report& r) {
  ::mkdir(opts.out_dir.c_str(), 0755);
  auto s = summary::of(r.runs);
  auto b = summary::of(r.baseline_runs);
  auto path = opts.out_dir + "/" + r.name + ".json";
  std::ofstream out{path};
  char num[64];
  auto fmt = [&](double x) {
    std::snprintf(num, sizeof(num), "%.6g", x);
    return std::string{num};
  };
  out << "{\n  \"name\": \"" << json_escape(r.name) << "\",\n"
      << "  \"unit\": \"" << json_escape(r.unit) << "\",\n"
      << "  \"median\": " << fmt(s.median) << ",\n"
      << "  \"min\": " << fmt(s.min) << ",\n"
      << "  \"max\": " << fmt(s.max) << ",\n"
      << "  \"runs\": " << json_array(r.runs) << ",\n"
      << "  \"baseline\": {\"name\": \"" << json_escape(r.baseline_name)
      << "\", \"median\": " << fmt(b.median) << ", \"min\": " << fmt(b.min)
      << ", \"max\": " << fmt(b.max)
      << ", \"runs\": " << json_array(r.baseline_runs) << "},\n"
      << "  \"ratio\": " << fmt(r.ratio()) << ",\n"
      << "  \"quick\": " << (opts.quick ? "true" : "false") << ",\n"
      << "  \"figures\": {";
  bool first = true;
  for (auto& [k, v] : r.figures) {
    out << (first ? "" : ", ") << "\"" << json_escape(k) << "\": " << fmt(v);
    first = false;
  }
  out << "},\n  \"params\": {";
  first = true;
  for (auto& [k, v] : r.params) {
    out << (first ? "" : ", ") << "\"" << json_escape(k) << "\": \""
        << json_escape(v) << "\"";
    first = false;
  }
  out << "}\n}\n";
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
