// Pure PEP 3333 / CGI rules used by the WSGI adapter and the environ builder: status lines,
// response header checks, Content-Length, HTTP_* names and SCRIPT_NAME/PATH_INFO.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::wsgi_rules {

// "NNN" or "NNN reason": three digits (100..999), no control characters. On failure returns
// nullopt and sets *error to a message fit for a ValueError.
std::optional<int> parse_status(std::string_view status, std::string* error);

// Response header name: a non-empty RFC 7230 token (no space, ':' or control characters).
bool valid_header_name(std::string_view name) noexcept;

// What is wrong with a response header value (already known to be Latin-1 bytes).
enum class ValueProblem { kNone, kLineBreak, kNul, kControl };
ValueProblem check_header_value(std::string_view value) noexcept;

// Connection-level headers a WSGI application must not set (PEP 3333).
bool is_hop_by_hop(std::string_view name) noexcept;

// A Content-Length value: decimal digits only (surrounding blanks allowed), no overflow.
std::optional<std::uint64_t> parse_content_length(std::string_view value) noexcept;

// "HTTP_" + upper-cased name with '-' -> '_'; false for names with other characters than
// letters, digits and '-' (they could spoof another header, e.g. X_Foo vs X-Foo), and for
// "Proxy": an HTTP_PROXY variable would redirect the application's outgoing requests
// (httpoxy; httpd's ap_add_common_vars drops it too).
bool cgi_header_name(std::string_view header, std::string* out);

// The request target of an HTTP request line ("GET /a?b HTTP/1.1" -> "/a?b"): what the
// client asked for, whatever internal redirects did to the request since (CGI REQUEST_URI).
std::string_view request_line_target(std::string_view request_line) noexcept;

// Runs of '/' collapsed to one.
std::string collapse_slashes(std::string_view path);

// SCRIPT_NAME for a request whose decoded URI is `uri` and whose extra path is `path_info`:
// the part of the URI before the path info, slashes collapsed, without a trailing '/'
// (a mount at "/" gives "").
std::string script_name(std::string_view uri, std::string_view path_info);

// Case-insensitive ASCII comparison of header names.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace mp::wsgi_rules
