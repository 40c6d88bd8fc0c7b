// The embedded-mode exchange: the WSGI adapter's view of an Apache request_rec.
#pragma once

#include <string>

#include "apache/apache.h"
#include "apache/wsgi_config.h"
#include "wsgi/exchange.h"

namespace mp::handlers {

struct ProxyView;  // what trusted forwarding headers say (wsgi_exchange.cpp)

class ApacheExchange final : public wsgi::Exchange {
 public:
  // `script_name`/`path_info` are the WSGI values for this request; `head_as_get` presents a
  // HEAD request as GET (WSGIMapHEADToGET).
  ApacheExchange(request_rec* r, const apache::WsgiConfig* cfg, std::string script_name,
                 std::string path_info, bool head_as_get, const wsgi::RequestTraits& traits);

  void environ(wsgi::EnvironSink& sink) override;
  long read(char* buffer, std::size_t size, std::string* error) override;
  int body_error_status() const override { return body_error_status_; }
  wsgi::IoResult start(int status, std::string_view status_line,
                       const std::vector<wsgi::Header>& headers) override;
  wsgi::IoResult write(const char* data, std::size_t size, bool flush) override;
  wsgi::IoResult send_file(int fd, std::uint64_t offset, std::uint64_t length) override;
  wsgi::IoResult finish() override;
  bool defer_finish() override;
  // Passes a response whose finish() was deferred (call without the GIL).
  void send_deferred();
  void abort() override;
  void close_after_response() override;
  void log(int level, std::string_view id, std::string_view message) override;
  bool ssl_is_https() override;
  std::optional<std::string> ssl_var(const std::string& name) override;
  // Leaves Authorization and Proxy-Authorization out of the environ whatever
  // WSGIPassAuthorization says (access and auth hook scripts).
  void hide_credentials() noexcept { hide_credentials_ = true; }

 private:
  wsgi::IoResult pass(bool flush_or_eos_added);
  void add_cgi_variables(const ProxyView& proxy, wsgi::EnvironSink& sink);
  void add_mod_wsgi_variables(const ProxyView& proxy, wsgi::EnvironSink& sink);

  request_rec* r_;
  const apache::WsgiConfig* cfg_;
  std::string script_name_;
  std::string path_info_;
  bool head_as_get_;
  const wsgi::RequestTraits& traits_;
  apr_bucket_brigade* bb_;
  bool read_started_ = false;
  bool read_failed_ = false;
  int body_error_status_ = 0;  // what httpd answers to the failed read (400, 408, 413...)
  bool deferred_ = false;
  bool hide_credentials_ = false;
  std::size_t queued_ = 0;  // body bytes queued and not yet passed
};

}  // namespace mp::handlers
