// Handler error reporting: traceback to the error log, PythonDebug page, truncated responses.
#include "handlers/error_report.h"

#include <string>
#include <vector>

#include "apache/log.h"
#include "apache/request_body.h"
#include "cpython/exception.h"
#include "python/request_object.h"

namespace mp::handlers {
namespace {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#x27;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string prefix_of(const ErrorContext& ctx) {
  std::string prefix(ctx.phase);
  prefix += ' ';
  prefix += ctx.handler;
  return prefix;
}

void log_traceback(const ErrorContext& ctx, const std::vector<std::string>& lines) {
  std::string prefix = prefix_of(ctx);
  std::string head = prefix + ": exception in interpreter '" + ctx.interp->name() + "' for URI '" +
                     (ctx.r->uri != nullptr ? ctx.r->uri : "") + "'";
  apache::log_request(APLOG_ERR, 0, ctx.r, ctx.log_id, head);
  for (const auto& line : lines) {
    apache::log_request(APLOG_ERR, 0, ctx.r, ctx.log_id, prefix + ": " + line);
  }
}

std::string debug_text(const ErrorContext& ctx, const std::vector<std::string>& lines) {
  std::string body = "<pre>\nMod_python error: \"" + html_escape(prefix_of(ctx)) + "\"\n\n";
  for (const auto& line : lines) body += html_escape(line) + "\n";
  body += "</pre>\n";
  return body;
}

// Marks a response that already started as incomplete: no last chunk, connection closed.
void truncate_response(request_rec* r) {
  r->connection->keepalive = AP_CONN_CLOSE;
  apr_bucket_brigade* bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
  apr_bucket* e =
      ap_bucket_error_create(HTTP_BAD_GATEWAY, nullptr, r->pool, r->connection->bucket_alloc);
  APR_BRIGADE_INSERT_TAIL(bb, e);
  ap_pass_brigade(r->output_filters, bb);
  apr_brigade_cleanup(bb);
}

bool is_client_gone(PyObject* type, const request_rec* r) {
  return r->connection->aborted && type != nullptr &&
         PyErr_GivenExceptionMatches(type, PyExc_OSError);
}

// The reason, with the status answered unless an input filter has answered itself.
std::string body_failure_text(int status) {
  std::string text = apache::body_failure_reason(status);
  if (status != AP_FILTER_ERROR) text += " (" + std::to_string(status) + ")";
  return text;
}

// The handler let the OSError of a failed request body read escape (client closed the
// connection, timed out, sent a malformed or oversized body) and nothing was sent yet: the
// client's fault, answered as httpd answers it, with one log line instead of a traceback.
int body_read_failure_status(const ErrorContext& ctx, PyObject* type) {
  if (ctx.after_response || ctx.request_object == nullptr || type == nullptr) return 0;
  const auto* req = python::as_request(ctx.request_object);
  if (req->body_error_status == 0 || PyErr_GivenExceptionMatches(type, PyExc_OSError) == 0) {
    return 0;
  }
  // AP_FILTER_ERROR: httpd's HTTP_IN filter has sent the 400 itself (a bad chunk header).
  if (req->body_error_status == AP_FILTER_ERROR) return AP_FILTER_ERROR;
  // PythonDebug On shows the traceback page for it, as for any exception (and as 3.5 did).
  if (ctx.debug || python::response_started(req)) return 0;
  return req->body_error_status;
}

// The handler let the OSError of a write to a client that had gone escape: nothing is wrong
// with the handler (a closed browser tab, a restart cutting a download), so one info line
// instead of a traceback at error. PythonDebug On keeps the traceback.
bool stopped_by_client_disconnect(const ErrorContext& ctx, PyObject* type) {
  if (ctx.debug || ctx.request_object == nullptr || !is_client_gone(type, ctx.r)) return false;
  return python::as_request(ctx.request_object)->client_gone;
}

}  // namespace

int report_handler_exception(const cpython::Gil& gil, const ErrorContext& ctx) {
  cpython::FetchedException exc = cpython::FetchedException::fetch(gil);
  if (int status = body_read_failure_status(ctx, exc.type.get()); status != 0) {
    apache::log_request(
        apache::body_failure_log_level(status), 0, ctx.r, "MP0105",
        prefix_of(ctx) + ": the request body could not be read: " + body_failure_text(status));
    return status;
  }
  if (stopped_by_client_disconnect(ctx, exc.type.get())) {
    apache::log_request(APLOG_INFO, 0, ctx.r, "MP0106",
                        prefix_of(ctx) + ": the client closed the connection during the response");
    return DONE;
  }
  std::vector<std::string> lines = cpython::format_exception(gil, exc);
  log_traceback(ctx, lines);

  if (ctx.after_response) return HTTP_INTERNAL_SERVER_ERROR;  // result ignored by httpd
  auto* req = ctx.request_object ? python::as_request(ctx.request_object) : nullptr;
  bool started = req != nullptr ? python::response_started(req) : ctx.r->sent_bodyct != 0;
  if (is_client_gone(exc.type.get(), ctx.r)) return DONE;
  if (started) {
    cpython::DetachScope io(gil);
    if (ctx.debug) {
      std::string text = debug_text(ctx, lines);
      ap_rwrite(text.data(), static_cast<int>(text.size()), ctx.r);
      ap_rflush(ctx.r);
    }
    truncate_response(ctx.r);
    return DONE;
  }
  if (!ctx.debug) return HTTP_INTERNAL_SERVER_ERROR;
  std::string text = debug_text(ctx, lines);
  ctx.r->status = HTTP_INTERNAL_SERVER_ERROR;
  ap_set_content_type(ctx.r, "text/html");
  {
    cpython::DetachScope io(gil);
    ap_rwrite(text.data(), static_cast<int>(text.size()), ctx.r);
  }
  return DONE;
}

int cut_off_started_response(request_rec* r, int status) {
  apache::log_request(APLOG_ERR, 0, r, "MP0107",
                      "PythonHandler returned HTTP " + std::to_string(status) +
                          " after the response had started; the response was cut off");
  truncate_response(r);
  return DONE;
}

}  // namespace mp::handlers
