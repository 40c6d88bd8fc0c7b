// The exchange: what the WSGI adapter needs from the server side of one request. One
// implementation runs over Apache's request_rec (embedded mode); daemon mode can implement it
// over its wire protocol, and the unit tests over a fake. Nothing here knows Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::wsgi {

struct Header {
  std::string name;
  std::string value;
};

enum class IoResult { kOk, kClientGone, kError };

// Receives the CGI variables of the request.
class EnvironSink {
 public:
  enum class Encoding { kLatin1, kFilesystem };
  virtual void add(std::string_view key, std::string_view value,
                   Encoding encoding = Encoding::kLatin1) = 0;

 protected:
  ~EnvironSink() = default;
};

// Facts about the request and the hosting process that become wsgi.* keys.
struct RequestTraits {
  bool https = false;
  bool multithread = false;
  bool multiprocess = false;
  bool head = false;         // HEAD as the application sees it (not mapped to GET)
  bool header_only = false;  // HEAD, mapped or not: no body reaches the client, none is checked
  int apache_version[3] = {2, 4, 0};
  std::string script;          // the script file, for log messages
  std::string handler_script;  // WSGIHandlerScript's script (mod_wsgi.handler_script); or empty
  std::string process_group;
  std::string application_group;
  std::string callable_object = "application";
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  // The CGI variables (called with the GIL held; must not block).
  virtual void environ(EnvironSink& sink) = 0;

  // Reads request body bytes: > 0 bytes read, 0 at the end, < 0 on error (*error says why).
  // Called without the GIL.
  virtual long read(char* buffer, std::size_t size, std::string* error) = 0;
  // After a failed read(): the HTTP status that answers the request when the application then
  // fails with the OSError before responding (the client's fault: 400, 408, 413...), or 0 for
  // the usual 500.
  virtual int body_error_status() const { return 0; }

  // Commits the status and headers (already validated), once, right before the first body
  // byte or the end of an empty response. Must not block (may be called with the GIL held).
  virtual IoResult start(int status, std::string_view status_line,
                         const std::vector<Header>& headers) = 0;
  // Queues body data; with `flush` everything queued is sent on now. Without `flush` it must
  // not block (may be called with the GIL held) and the caller keeps the data valid until the
  // next flush or finish(); with `flush` it is called without the GIL.
  virtual IoResult write(const char* data, std::size_t size, bool flush) = 0;
  // Sends `length` bytes of the regular file `fd` from `offset` (the exchange duplicates the
  // descriptor if it needs it beyond the call). Returns kError when it cannot.
  virtual IoResult send_file(int fd, std::uint64_t offset, std::uint64_t length) = 0;
  // The response is complete.
  virtual IoResult finish() = 0;
  // Alternative to finish() for when it is cheaper to send the response after the caller has
  // left Python: returns true if the exchange took over the queued data and will complete the
  // response later itself. Called with the GIL held; must not block.
  virtual bool defer_finish() { return false; }
  // The response is incomplete (exception or short body after it started): the client must
  // be able to tell, so no clean terminator is ever sent.
  virtual void abort() = 0;
  // The response went out whole, then the application failed (an exception from its iterable
  // after the last byte): the connection is not kept alive. Called with the GIL held.
  virtual void close_after_response() = 0;

  // mod_ssl: whether the connection is HTTPS, and the value of an SSL variable (nullopt when
  // unset or mod_ssl is absent). Called with the GIL held; must not block.
  virtual bool ssl_is_https() { return false; }
  virtual std::optional<std::string> ssl_var(const std::string& /*name*/) { return std::nullopt; }

  // One line for the error log (wsgi.errors, tracebacks). `level` is a syslog level (3 = error,
  // 4 = warning, 7 = debug). Called with or without the GIL.
  virtual void log(int level, std::string_view id, std::string_view message) = 0;
};

}  // namespace mp::wsgi
