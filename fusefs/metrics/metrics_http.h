// MetricsHttp: serves the Prometheus exposition over HTTP (-o
// metrics=ADDR:PORT) with libmicrohttpd, for a Prometheus that scrapes
// the daemon directly: GET /metrics answers the rendered text
// (text/plain; version=0.0.4), any other path 404, any other method 405.
// One internal polling thread; no HTTP parsing of our own.
//
// Thread-safety: Start and the destructor from one thread; `render` is
// called on libmicrohttpd's thread and must be thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "compress/status.h"

struct MHD_Daemon;

namespace tierfs {

class MetricsHttp {
 public:
  // Listens on the IPv4 address `addr` (e.g. "127.0.0.1") and `port`;
  // an error (address in use, bad address) names the option.
  static Result<std::unique_ptr<MetricsHttp>> Start(const std::string& addr, uint16_t port,
                                                    std::function<std::string()> render);
  ~MetricsHttp();  // stops serving
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

 private:
  explicit MetricsHttp(std::function<std::string()> render) : render_(std::move(render)) {}
  const std::function<std::string()> render_;
  MHD_Daemon* daemon_ = nullptr;
  friend struct MetricsHttpHandler;
};

}  // namespace tierfs
