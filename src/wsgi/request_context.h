// The state of one WSGI request shared by the adapter and the objects it hands to the
// application (start_response, write, wsgi.input, wsgi.errors). Lives on the adapter's stack;
// the objects point to it only while the request runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wsgi/exchange.h"

namespace mp::wsgi {

struct RequestContext {
  Exchange* exchange = nullptr;
  const RequestTraits* traits = nullptr;

  // Response as set by start_response.
  bool status_set = false;
  int status = 0;
  std::string status_line;
  std::vector<Header> headers;
  std::optional<std::uint64_t> content_length;

  // Response as sent.
  bool headers_sent = false;
  std::uint64_t body_sent = 0;
  bool overflow_logged = false;
  bool client_gone = false;
  bool failed = false;  // an I/O error other than a disconnect
  // A block completed the declared Content-Length while the iterable was still running: the
  // response was finished there and then, and anything after it is cut.
  bool finished = false;

  // Request body.
  std::string input;
  std::size_t input_pos = 0;
  bool input_eof = false;
  std::string input_error;  // non-empty: the stream is in error

  // Notes how a call to the exchange ended; true when it succeeded.
  bool record(IoResult r) {
    if (r == IoResult::kClientGone) client_gone = true;
    if (r == IoResult::kError) failed = true;
    return r == IoResult::kOk;
  }
};

}  // namespace mp::wsgi
