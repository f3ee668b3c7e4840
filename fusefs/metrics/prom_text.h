// PromText: builds a document in the Prometheus text exposition format
// (version 0.0.4, what node_exporter's textfile collector and a scrape
// read): each metric family opens with "# HELP" and "# TYPE" lines and is
// followed by its samples; label values and help text are escaped; integer
// values print exactly, others in the shortest form that reads back the
// same; histograms print cumulative _bucket{le=...} samples ending with
// le="+Inf", then _sum and _count.
//
// It does not check names: callers give counters their _total suffix and
// use base units (seconds, bytes) as the format's conventions ask.
//
// Thread-safety: a plain value; one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tierfs {

class PromText {
 public:
  using Label = std::pair<std::string_view, std::string_view>;
  using Labels = std::initializer_list<Label>;

  // Opens a family: type is "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the family opened last (name is the family's for
  // counters and gauges).
  void Sample(std::string_view name, std::span<const Label> labels, uint64_t value);
  void Sample(std::string_view name, std::span<const Label> labels, double value);
  void Sample(std::string_view name, Labels labels, uint64_t value) {
    Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void Sample(std::string_view name, Labels labels, double value) {
    Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  // A family with one unlabelled sample.
  void Counter(std::string_view name, std::string_view help, uint64_t value);
  void Gauge(std::string_view name, std::string_view help, uint64_t value);
  void Gauge(std::string_view name, std::string_view help, double value);
  // The samples of one histogram of the family `name` opened last:
  // counts[i] observations fell in (bounds[i-1], bounds[i]], counts.back()
  // above the last bound (counts.size() == bounds.size() + 1).
  void Histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                 std::span<const uint64_t> counts, double sum);

  const std::string& str() const { return out_; }

  // Escapes a label value (\\, \", \n) and help text (\\, \n).
  static std::string EscapeLabelValue(std::string_view v);
  static std::string EscapeHelp(std::string_view v);
  // The format's spelling of a value: "+Inf", "-Inf", "NaN" or the
  // shortest decimal that reads back as v.
  static std::string FormatValue(double v);

 private:
  void Begin(std::string_view name, std::span<const Label> labels);
  std::string out_;
};

}  // namespace tierfs
