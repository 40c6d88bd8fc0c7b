// Logging to Apache's error log. Every warn-or-worse line carries a stable "MPnnnn" id
// (docs/reference/log-messages.md).
#pragma once

#include <string_view>

#include "apache/apache.h"

namespace mp::apache {

void log_server(int level, apr_status_t status, const server_rec* s, std::string_view id,
                std::string_view message) noexcept;
void log_request(int level, apr_status_t status, const request_rec* r, std::string_view id,
                 std::string_view message) noexcept;
// As log_request, tagged [wsgi:...] (the wsgi_module record) like mod_wsgi's messages, so
// `LogLevel wsgi:info` and log greps written for mod_wsgi keep working.
void log_wsgi_request(int level, apr_status_t status, const request_rec* r, std::string_view id,
                      std::string_view message) noexcept;
void log_wsgi_server(int level, apr_status_t status, const server_rec* s, std::string_view id,
                     std::string_view message) noexcept;
void log_connection(int level, apr_status_t status, const conn_rec* c, std::string_view id,
                    std::string_view message) noexcept;

}  // namespace mp::apache
