// MetricsHttp: see metrics_http.h.
#include "fusefs/metrics/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace tierfs {

struct MetricsHttpHandler {
  static MHD_Result Reply(MHD_Connection* connection, unsigned int code, const std::string& body,
                          const char* content_type) {
    MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                      MHD_RESPMEM_MUST_COPY);
    if (r == nullptr) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_Result ret = MHD_queue_response(connection, code, r);
    MHD_destroy_response(r);
    return ret;
  }

  // libmicrohttpd's access handler: one call per request (no upload data
  // is accepted, so the first call answers).
  static MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char*, size_t* upload_size,
                           void**) {
    auto* self = static_cast<MetricsHttp*>(cls);
    if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
      return Reply(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
    }
    if (*upload_size != 0) return MHD_NO;
    if (std::strcmp(url, "/metrics") != 0) {
      return Reply(connection, MHD_HTTP_NOT_FOUND, "tierfs serves /metrics\n", "text/plain");
    }
    try {
      return Reply(connection, MHD_HTTP_OK, self->render_(),
                   "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {  // nothing may escape into libmicrohttpd
      spdlog::error("metrics endpoint: {}", e.what());
      return MHD_NO;
    }
  }
};

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::Start(const std::string& addr, uint16_t port,
                                                        std::function<std::string()> render) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    return Status::InvalidArgument("option metrics=" + addr + ":" + std::to_string(port) +
                                   ": not an IPv4 address");
  }
  std::unique_ptr<MetricsHttp> server(new MetricsHttp(std::move(render)));
  errno = 0;
  server->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD, port, nullptr, nullptr, &MetricsHttpHandler::Handle,
      server.get(), MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&sa),
      MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    const int err = errno ? errno : EADDRNOTAVAIL;
    return Status::Posix(err, "option metrics=" + addr + ":" + std::to_string(port) +
                                  ": cannot listen: " + std::strerror(err));
  }
  return server;
}

MetricsHttp::~MetricsHttp() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace tierfs
