// PromText: see prom_text.h.
#include "fusefs/metrics/prom_text.h"

#include <charconv>
#include <cmath>

namespace tierfs {

namespace {
// Backslash and newline always; the double quote inside label values.
std::string Escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::string PromText::EscapeLabelValue(std::string_view v) { return Escape(v, true); }
std::string PromText::EscapeHelp(std::string_view v) { return Escape(v, false); }

std::string PromText::FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void PromText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PromText::Begin(std::string_view name, std::span<const Label> labels) {
  out_.append(name);
  if (labels.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_.append(k).append("=\"").append(EscapeLabelValue(v)).append("\"");
  }
  out_.append("} ");
}

void PromText::Sample(std::string_view name, std::span<const Label> labels, uint64_t value) {
  Begin(name, labels);
  out_.append(std::to_string(value)).append("\n");
}

void PromText::Sample(std::string_view name, std::span<const Label> labels, double value) {
  Begin(name, labels);
  out_.append(FormatValue(value)).append("\n");
}

void PromText::Counter(std::string_view name, std::string_view help, uint64_t value) {
  Family(name, "counter", help);
  Sample(name, std::span<const Label>(), value);
}

void PromText::Gauge(std::string_view name, std::string_view help, uint64_t value) {
  Family(name, "gauge", help);
  Sample(name, std::span<const Label>(), value);
}

void PromText::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, std::span<const Label>(), value);
}

void PromText::Histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                         std::span<const uint64_t> counts, double sum) {
  const std::string bucket = std::string(name) + "_bucket";
  std::vector<Label> with_le(labels.begin(), labels.end());
  with_le.emplace_back("le", "");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
    with_le.back().second = le;
    Sample(bucket, with_le, cumulative);
  }
  Sample(std::string(name) + "_sum", labels, sum);
  Sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace tierfs
