// Reading the request body with the reason of a failure kept (ap_get_client_block loses it).
#pragma once

#include "apache/apache.h"

namespace mp::apache {

// Reads up to `size` bytes of the request body, after ap_setup_client_block and
// ap_should_client_block, as ap_get_client_block does: the number of bytes, 0 at the end.
// On failure returns -1, marks the connection for closing, and sets *http_status to what
// httpd's own handlers answer (ap_map_http_request_error: 400 for a malformed or cut-off body,
// 408 on a timeout, 413 over LimitRequestBody, AP_FILTER_ERROR when a filter already answered).
long read_request_body(request_rec* r, char* buffer, apr_size_t size, int* http_status) noexcept;

// Why a read failed with `http_status` (as read_request_body set it), for log lines: "timed
// out", "larger than LimitRequestBody", "an input filter refused it", or "cut short or
// malformed, or the client went away".
const char* body_failure_reason(int http_status) noexcept;

// The level of that log line: info when the client stopped sending or sent garbage (400,
// 408, or an input filter already answered and logged why), warning over LimitRequestBody
// (413), error otherwise.
int body_failure_log_level(int http_status) noexcept;

}  // namespace mp::apache
