// Request body reads through the input filters, keeping the status of a failure.
#include "apache/request_body.h"

namespace mp::apache {

long read_request_body(request_rec* r, char* buffer, apr_size_t size, int* http_status) noexcept {
  if (r->remaining < 0 || (r->read_chunked == 0 && r->remaining == 0)) return 0;
  apr_bucket_brigade* bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
  apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                                   static_cast<apr_off_t>(size));
  apr_size_t length = size;
  if (rv == APR_SUCCESS) {
    // The end of the body: later calls return 0 without asking the filters again.
    if (!APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) {
      r->remaining = r->read_chunked != 0 ? -1 : 0;
    }
    rv = apr_brigade_flatten(bb, buffer, &length);
  }
  apr_brigade_destroy(bb);
  if (rv != APR_SUCCESS) {
    r->connection->keepalive = AP_CONN_CLOSE;
    *http_status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
    return -1;
  }
  r->read_length += static_cast<apr_off_t>(length);
  return static_cast<long>(length);
}

int body_failure_log_level(int http_status) noexcept {
  switch (http_status) {
    case HTTP_BAD_REQUEST:
    case HTTP_REQUEST_TIME_OUT:
    case AP_FILTER_ERROR:  // the filter answered (bad chunk, over the limit) and logged why
      return APLOG_INFO;   // the client stopped sending or sent garbage: normal traffic
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
      return APLOG_WARNING;  // a limit of the configuration was hit
    default:
      return APLOG_ERR;
  }
}

const char* body_failure_reason(int http_status) noexcept {
  switch (http_status) {
    case HTTP_REQUEST_TIME_OUT:
      return "timed out";
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
      return "larger than LimitRequestBody";
    case AP_FILTER_ERROR:
      return "an input filter refused it";
    default:
      return "cut short or malformed, or the client went away";
  }
}

}  // namespace mp::apache
