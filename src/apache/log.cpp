// Error-log helpers (the module's log index makes lines show as [python:level]).
#include "apache/log.h"

namespace mp::apache {
namespace {

// What APLOG_USE_MODULE would declare; spelled out because the record has C linkage.
int* const aplog_module_index = &python_module.module_index;

// Lines tagged [wsgi:...]: the wsgi_module record's index, when httpd registered it.
int wsgi_log_index() noexcept {
  return wsgi_module.module_index >= 0 ? wsgi_module.module_index : python_module.module_index;
}

int length_of(std::string_view text) noexcept {
  constexpr std::size_t kMax = 8192;
  return static_cast<int>(text.size() < kMax ? text.size() : kMax);
}

}  // namespace

void log_server(int level, apr_status_t status, const server_rec* s, std::string_view id,
                std::string_view message) noexcept {
  if (id.empty()) {
    ap_log_error(APLOG_MARK, level, status, s, "%.*s", length_of(message), message.data());
  } else {
    ap_log_error(APLOG_MARK, level, status, s, "%.*s: %.*s", length_of(id), id.data(),
                 length_of(message), message.data());
  }
}

void log_request(int level, apr_status_t status, const request_rec* r, std::string_view id,
                 std::string_view message) noexcept {
  if (id.empty()) {
    ap_log_rerror(APLOG_MARK, level, status, r, "%.*s", length_of(message), message.data());
  } else {
    ap_log_rerror(APLOG_MARK, level, status, r, "%.*s: %.*s", length_of(id), id.data(),
                  length_of(message), message.data());
  }
}

void log_wsgi_request(int level, apr_status_t status, const request_rec* r, std::string_view id,
                      std::string_view message) noexcept {
  int index = wsgi_log_index();
  if (id.empty()) {
    ap_log_rerror_(__FILE__, __LINE__, index, level, status, r, "%.*s", length_of(message),
                   message.data());
  } else {
    ap_log_rerror_(__FILE__, __LINE__, index, level, status, r, "%.*s: %.*s", length_of(id),
                   id.data(), length_of(message), message.data());
  }
}

void log_wsgi_server(int level, apr_status_t status, const server_rec* s, std::string_view id,
                     std::string_view message) noexcept {
  int index = wsgi_log_index();
  if (id.empty()) {
    ap_log_error_(__FILE__, __LINE__, index, level, status, s, "%.*s", length_of(message),
                  message.data());
  } else {
    ap_log_error_(__FILE__, __LINE__, index, level, status, s, "%.*s: %.*s", length_of(id),
                  id.data(), length_of(message), message.data());
  }
}

void log_connection(int level, apr_status_t status, const conn_rec* c, std::string_view id,
                    std::string_view message) noexcept {
  if (id.empty()) {
    ap_log_cerror(APLOG_MARK, level, status, c, "%.*s", length_of(message), message.data());
  } else {
    ap_log_cerror(APLOG_MARK, level, status, c, "%.*s: %.*s", length_of(id), id.data(),
                  length_of(message), message.data());
  }
}

}  // namespace mp::apache

#include "apache/boundary.h"

namespace mp::apache {

void log_boundary_failure(const server_rec* s, const char* what) noexcept {
  ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MP0200: internal error: %s", what);
}

}  // namespace mp::apache
