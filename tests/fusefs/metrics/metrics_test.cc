// The Prometheus exposition: PromText's format (escaping, values,
// cumulative histograms), the request-path counters, MetricsText over a
// status report (every family has HELP and TYPE, counters end in _total,
// the values land in the right series), and MetricsFile's atomic rewrite
// and its lock (one writer per file).
#include "fusefs/metrics/metrics.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "common/temp_dir.h"
#include "fusefs/control/metrics_text.h"
#include "fusefs/metrics/metrics_file.h"
#include "fusefs/metrics/prom_text.h"

namespace tierfs {
namespace {

TEST(PromTextTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(PromText::EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(PromText::EscapeHelp("a\"b\\c\nd"), "a\"b\\\\c\\nd");
  PromText p;
  p.Family("x_total", "counter", "Help with \\ and\nnewline.");
  p.Sample("x_total", {PromText::Label{"path", "/a \"b\""}}, uint64_t{3});
  EXPECT_EQ(p.str(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"/a \\\"b\\\"\"} 3\n");
}

TEST(PromTextTest, FormatsValuesExactly) {
  EXPECT_EQ(PromText::FormatValue(0.25), "0.25");
  EXPECT_EQ(PromText::FormatValue(1e-9), "1e-09");
  EXPECT_EQ(PromText::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(PromText::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(PromText::FormatValue(std::nan("")), "NaN");
  PromText p;
  p.Gauge("big", "A counter past 2^53 prints every digit.", uint64_t{18446744073709551615ull});
  EXPECT_NE(p.str().find("\nbig 18446744073709551615\n"), std::string::npos) << p.str();
}

TEST(PromTextTest, HistogramBucketsAreCumulativeAndEndWithInf) {
  PromText p;
  p.Family("d_seconds", "histogram", "Durations.");
  const double bounds[] = {0.1, 1};
  const uint64_t counts[] = {2, 0, 5};  // 2 <= 0.1, none in (0.1, 1], 5 above
  p.Histogram("d_seconds", {PromText::Label{"op", "read"}}, bounds, counts, 12.5);
  EXPECT_EQ(p.str(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{op=\"read\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
            "d_seconds_bucket{op=\"read\",le=\"+Inf\"} 7\n"
            "d_seconds_sum{op=\"read\"} 12.5\n"
            "d_seconds_count{op=\"read\"} 7\n");
}

TEST(MetricsTest, LatencyLandsInTheFirstBucketThatHoldsIt) {
  LatencyHistogram h;
  h.Record(50'000);          // exactly 50 us: the first bucket (le is inclusive)
  h.Record(50'001);          // just above: the second
  h.Record(3'000'000'000);   // 3 s: the 5 s bucket
  h.Record(60'000'000'000);  // past every bound: +Inf
  auto s = h.snapshot();
  EXPECT_EQ(s.buckets[0], 1u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets[kLatencyBounds.size() - 1], 1u);
  EXPECT_EQ(s.buckets[kLatencyBounds.size()], 1u);
  EXPECT_EQ(s.sum_ns, 50'000u + 50'001u + 3'000'000'000u + 60'000'000'000u);
}

TEST(MetricsTest, OnlyReadWriteAndFsyncAreTimed) {
  Metrics m;
  m.CountRequest(FuseOp::kLookup);
  m.CountError(FuseOp::kLookup);
  m.RecordLatency(FuseOp::kLookup, 1000);  // not kept
  m.RecordLatency(FuseOp::kFsync, 1000);
  EXPECT_EQ(m.requests(FuseOp::kLookup), 1u);
  EXPECT_EQ(m.errors(FuseOp::kLookup), 1u);
  EXPECT_EQ(m.negatives(FuseOp::kLookup), 0u);
  m.CountNegative(FuseOp::kLookup);
  EXPECT_EQ(m.negatives(FuseOp::kLookup), 1u);
  EXPECT_EQ(m.errors(FuseOp::kLookup), 1u);
  EXPECT_EQ(m.requests(FuseOp::kRead), 0u);
  for (FuseOp op : {FuseOp::kRead, FuseOp::kWrite}) {
    auto s = m.latency(op);
    EXPECT_EQ(s.sum_ns, 0u) << FuseOpName(op);
  }
  EXPECT_EQ(m.latency(FuseOp::kFsync).sum_ns, 1000u);
  EXPECT_STREQ(FuseOpName(FuseOp::kCopyFileRange), "copy_file_range");
  EXPECT_STREQ(FuseOpName(FuseOp::kLookup), "lookup");
}

TEST(MetricsTest, CountsFromManyThreadsAddUp) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i) {
        m.CountRequest(FuseOp::kWrite);
        m.RecordLatency(FuseOp::kWrite, 1000);
        m.CountWrite(3);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(m.requests(FuseOp::kWrite), 80000u);
  EXPECT_EQ(m.written_bytes(), 240000u);
  const auto s = m.latency(FuseOp::kWrite);
  EXPECT_EQ(s.buckets[0], 80000u);  // 1 us: the first bucket
  EXPECT_EQ(s.sum_ns, 80000u * 1000u);
}

// name{labels} -> value, and the families' HELP and TYPE lines.
struct Parsed {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
};

Parsed Parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(([a-z_]+)(\{[^}]*\})? (\S+))");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      p.helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      p.types[line.substr(7, sp - 7)] = line.substr(sp + 1);
    } else {
      EXPECT_TRUE(std::regex_match(line, m, sample)) << line;
      p.samples[m[1].str() + m[2].str()] = m[3].str();
    }
  }
  return p;
}

TEST(MetricsTextTest, EverySeriesBelongsToADocumentedFamilyAndCarriesItsValue) {
  StatusReport r;
  r.store_dir = "/srv/store";
  r.mountpoint = "/mnt/t";
  r.chunk_size = 4 << 20;
  r.policy.hot_capacity = 1000;
  r.store.hot_objects = 3;
  r.store.cold_bytes = 500;
  r.store.cold_stored_bytes = 200;
  r.store.cache.hits = 11;
  r.store.cache.misses = 12;
  r.store.pool.overflow_allocations = 13;
  r.migrator.demoted = 4;
  r.migrator.promoted_bytes = 4096;
  r.migrator.failed_moves = 2;
  Metrics m;
  m.CountRequest(FuseOp::kRead);
  m.RecordLatency(FuseOp::kRead, 2'000'000);  // 2 ms
  m.CountError(FuseOp::kGetxattr);
  m.CountNegative(FuseOp::kGetxattr);
  m.CountNegative(FuseOp::kGetxattr);
  m.CountRead(ReadSource::kCold, 777);
  m.CountWrite(888);
  const Parsed p = Parse(MetricsText(r, m));
  for (const auto& [series, value] : p.samples) {
    std::string family = series.substr(0, series.find('{'));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          !p.types.count(family)) {
        family.resize(family.size() - s.size());
      }
    }
    ASSERT_TRUE(p.types.count(family)) << series << " has no TYPE line";
    EXPECT_TRUE(p.helped.count(family)) << series << " has no HELP line";
    if (p.types.at(family) == "counter") {
      EXPECT_EQ(family.substr(family.size() - 6), "_total") << family;
    }
  }
  auto at = [&](const std::string& series) {
    auto it = p.samples.find(series);
    EXPECT_NE(it, p.samples.end()) << series;
    return it == p.samples.end() ? "" : it->second;
  };
  EXPECT_EQ(at("tierfs_info{store=\"/srv/store\",mountpoint=\"/mnt/t\"}"), "1");
  EXPECT_EQ(at("tierfs_objects{tier=\"hot\"}"), "3");
  EXPECT_EQ(at("tierfs_compression_saved_bytes"), "300");
  EXPECT_EQ(at("tierfs_hot_watermark_bytes{level=\"high\"}"), "900");
  EXPECT_EQ(at("tierfs_frame_cache_hits_total"), "11");
  EXPECT_EQ(at("tierfs_frame_cache_misses_total"), "12");
  EXPECT_EQ(at("tierfs_buffer_pool_overflows_total"), "13");
  EXPECT_EQ(at("tierfs_migrator_moves_total{direction=\"demote\"}"), "4");
  EXPECT_EQ(at("tierfs_migrator_moved_bytes_total{direction=\"promote\"}"), "4096");
  EXPECT_EQ(at("tierfs_migrator_failed_moves_total"), "2");
  EXPECT_EQ(at("tierfs_fuse_requests_total{op=\"read\"}"), "1");
  EXPECT_EQ(at("tierfs_fuse_errors_total{op=\"getxattr\"}"), "1");
  EXPECT_EQ(at("tierfs_fuse_negatives_total{op=\"getxattr\"}"), "2");
  EXPECT_EQ(at("tierfs_fuse_negatives_total{op=\"lookup\"}"), "0");
  EXPECT_EQ(at("tierfs_fuse_request_duration_seconds_bucket{op=\"read\",le=\"0.001\"}"), "0");
  EXPECT_EQ(at("tierfs_fuse_request_duration_seconds_bucket{op=\"read\",le=\"0.0025\"}"), "1");
  EXPECT_EQ(at("tierfs_fuse_request_duration_seconds_sum{op=\"read\"}"), "0.002");
  EXPECT_EQ(at("tierfs_fuse_request_duration_seconds_count{op=\"write\"}"), "0");
  EXPECT_EQ(at("tierfs_read_bytes_total{tier=\"cold\"}"), "777");
  EXPECT_EQ(at("tierfs_written_bytes_total{tier=\"hot\"}"), "888");
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(MetricsFileTest, ReplacesTheFileAtStartAndStopWithAReadableMode) {
  test::TempDir dir;
  const std::string path = dir.path() + "/tierfs.prom";
  int n = 0;
  {
    MetricsFile f(path, "test", std::chrono::hours(1),
                  [&n] { return "x " + std::to_string(++n) + "\n"; });
    ASSERT_TRUE(f.Start().ok());
    EXPECT_EQ(Slurp(path), "x 1\n");
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    ASSERT_TRUE(f.WriteNow().ok());
    EXPECT_EQ(Slurp(path), "x 2\n");
  }  // destroyed: stopped, written a last time
  EXPECT_EQ(Slurp(path), "x 3\n");
  // Only the file itself and its lock file are left: the temp file was
  // renamed over it.
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.insert(e.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"tierfs.prom", ".tierfs.prom.lock"}));
}

TEST(MetricsFileTest, ASecondWriterOfTheSameFileIsRefusedNamingTheFirst) {
  test::TempDir dir;
  const std::string path = dir.path() + "/tierfs.prom";
  {
    MetricsFile first(path, "the store /a mounted at /m", std::chrono::hours(1),
                      [] { return "first\n"; });
    ASSERT_TRUE(first.Start().ok());
    MetricsFile second(path, "the store /b mounted at /n", std::chrono::hours(1),
                       [] { return "second\n"; });
    Status st = second.Start();
    EXPECT_EQ(st.code(), Code::kBusy) << st.ToString();
    EXPECT_NE(st.message().find("the store /a mounted at /m"), std::string::npos) << st.message();
    EXPECT_EQ(Slurp(path), "first\n");  // the refused one never wrote
  }
  // Released with its owner: the next mount may take the file.
  MetricsFile third(path, "the store /c mounted at /o", std::chrono::hours(1),
                    [] { return "third\n"; });
  ASSERT_TRUE(third.Start().ok());
  EXPECT_EQ(Slurp(path), "third\n");
}

TEST(MetricsFileTest, AMissingDirectoryIsAnErrorNamingTheFile) {
  test::TempDir dir;
  MetricsFile f(dir.path() + "/missing/tierfs.prom", "test", std::chrono::seconds(1),
                [] { return ""; });
  Status st = f.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("metrics_file"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tierfs
