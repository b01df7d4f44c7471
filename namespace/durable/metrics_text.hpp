#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace durable {

class metric_histogram;

/// The kinds of metric families of the exposition format.
enum class metric_type { counter, gauge, histogram };

/// Writes metrics in the Prometheus text exposition format, version 0.0.4:
/// per family a `# HELP` and a `# TYPE` line, then its samples, one per line
/// (`name{label="value",...} number`). Label values and help texts are
/// escaped as the format requires (`\\`, `\"` and `\n`), so any byte string
/// (a namespace name, say) can be a label value. Names are the caller's
/// constants and must match `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels: no `:`).
///
/// Write all samples of a family right after its `family` call: the format
/// requires a family's lines to form one group.
class metrics_text {
public:
  /// A label name and value.
  using label = std::pair<std::string_view, std::string_view>;

  using labels = std::initializer_list<label>;

  /// The Content-Type of the format.
  static constexpr std::string_view content_type =
      "text/plain; version=0.0.4; charset=utf-8";

  /// Starts the family `name` (counters end in `_total`).
  void family(std::string_view name, metric_type type, std::string_view help);

  /// Adds the sample `name{ls...} value`.
  void sample(std::string_view name, labels ls, uint64_t value);

  void sample(std::string_view name, labels ls, int64_t value);

  void sample(std::string_view name, labels ls, double value);

  /// Adds the samples of histogram `h` as family `name`: cumulative
  /// `name_bucket{ls...,le="..."}` lines up to `le="+Inf"`, `name_sum` and
  /// `name_count` (equal to the `+Inf` bucket). `scale` converts the
  /// histogram's unit for bounds and sum (1e-9 turns nanoseconds into the
  /// seconds Prometheus expects).
  void histogram(std::string_view name, labels ls, const metric_histogram& h,
                 double scale = 1.0);

  /// The text so far.
  const std::string& str() const noexcept { return out_; }

  /// Moves the text out, leaving the writer empty.
  std::string release() noexcept { return std::move(out_); }

private:
  void begin_sample(std::string_view name, std::string_view suffix, labels ls,
                    const label* extra = nullptr);

  void number(double x);

  std::string out_;
};

} // namespace durable
