#include "durable/metrics_text.hpp"

#include <charconv>
#include <cmath>

#include "durable/metric_histogram.hpp"

namespace durable {

namespace {

const char* type_name(metric_type x) {
  switch (x) {
  case metric_type::counter:
    return "counter";
  case metric_type::gauge:
    return "gauge";
  case metric_type::histogram:
    return "histogram";
  }
  return "untyped";
}

/// Appends `x` escaped: `\` and newline always, `"` inside label values.
void append_escaped(std::string& out, std::string_view x, bool quote) {
  for (auto c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
}

template <class T>
void append_integer(std::string& out, T x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

} // namespace

void metrics_text::family(std::string_view name, metric_type type,
                          std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void metrics_text::begin_sample(std::string_view name, std::string_view suffix,
                                labels ls, const label* extra) {
  out_ += name;
  out_ += suffix;
  if (ls.size() > 0 || extra != nullptr) {
    out_ += '{';
    auto first = true;
    auto add = [&](const label& x) {
      if (!first)
        out_ += ',';
      first = false;
      out_ += x.first;
      out_ += "=\"";
      append_escaped(out_, x.second, true);
      out_ += '"';
    };
    for (auto& x : ls)
      add(x);
    if (extra != nullptr)
      add(*extra);
    out_ += '}';
  }
  out_ += ' ';
}

void metrics_text::sample(std::string_view name, labels ls, uint64_t value) {
  begin_sample(name, {}, ls);
  append_integer(out_, value);
  out_ += '\n';
}

void metrics_text::sample(std::string_view name, labels ls, int64_t value) {
  begin_sample(name, {}, ls);
  append_integer(out_, value);
  out_ += '\n';
}

void metrics_text::sample(std::string_view name, labels ls, double value) {
  begin_sample(name, {}, ls);
  number(value);
  out_ += '\n';
}

void metrics_text::number(double x) {
  if (std::isnan(x)) {
    out_ += "NaN";
  } else if (std::isinf(x)) {
    out_ += x > 0 ? "+Inf" : "-Inf";
  } else {
    // The shortest text that reads back as the same double.
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), x);
    out_.append(buf, res.ptr);
  }
}

void metrics_text::histogram(std::string_view name, labels ls,
                             const metric_histogram& h, double scale) {
  // Each bucket is read once: the cumulative counts and the total are made
  // of the same reads, so they agree even while the histogram records.
  uint64_t cumulative = 0;
  std::string bound;
  for (size_t i = 0; i <= h.bounds(); ++i) {
    cumulative += h.count_in(i);
    bound.clear();
    if (i == h.bounds()) {
      bound = "+Inf";
    } else {
      std::swap(bound, out_);
      number(static_cast<double>(h.bound(i)) * scale);
      std::swap(bound, out_);
    }
    label le{"le", bound};
    begin_sample(name, "_bucket", ls, &le);
    append_integer(out_, cumulative);
    out_ += '\n';
  }
  begin_sample(name, "_sum", ls);
  number(static_cast<double>(h.sum()) * scale);
  out_ += '\n';
  begin_sample(name, "_count", ls);
  append_integer(out_, cumulative);
  out_ += '\n';
}

} // namespace durable
