// PEP 3333 / CGI rules: see wsgi_rules.h.
#include "common/wsgi_rules.h"

#include <array>
#include <limits>

namespace mp::wsgi_rules {
namespace {

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return kExtra.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::optional<int> parse_status(std::string_view status, std::string* error) {
  if (status.size() < 3 || !(status[0] >= '1' && status[0] <= '9') ||
      !(status[1] >= '0' && status[1] <= '9') || !(status[2] >= '0' && status[2] <= '9')) {
    *error = "status must start with a three-digit code";
    return std::nullopt;
  }
  if (status.size() > 3 && status[3] != ' ') {
    *error = "status code must be followed by a space and a reason";
    return std::nullopt;
  }
  for (char c : status) {
    if (is_control(static_cast<unsigned char>(c))) {
      *error = "control character present in status line";
      return std::nullopt;
    }
  }
  int code = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
  // A 1xx is an interim response: sent as the final one it would desynchronise the client's
  // connection. Codes above 599 do not exist in HTTP.
  if (code < 200 || code > 599) {
    *error = "status code must be between 200 and 599";
    return std::nullopt;
  }
  return code;
}

bool valid_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

ValueProblem check_header_value(std::string_view value) noexcept {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n') return ValueProblem::kLineBreak;
    if (c == 0) return ValueProblem::kNul;
    if (is_control(c) && c != '\t') return ValueProblem::kControl;
  }
  return ValueProblem::kNone;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_hop_by_hop(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 8> kHopByHop = {
      "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
      "te",         "trailers",   "transfer-encoding",  "upgrade"};
  for (auto h : kHopByHop) {
    if (iequals(name, h)) return true;
  }
  return false;
}

std::optional<std::uint64_t> parse_content_length(std::string_view value) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

bool cgi_header_name(std::string_view header, std::string* out) {
  if (header.empty() || iequals(header, "proxy")) return false;
  out->assign("HTTP_");
  for (char c : header) {
    if (c >= 'a' && c <= 'z') {
      out->push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out->push_back(c);
    } else if (c == '-') {
      out->push_back('_');
    } else {
      return false;
    }
  }
  return true;
}

std::string_view request_line_target(std::string_view request_line) noexcept {
  constexpr std::string_view kBlank = " \t";
  std::size_t method_end = request_line.find_first_of(kBlank);
  if (method_end == std::string_view::npos) return {};
  std::size_t start = request_line.find_first_not_of(kBlank, method_end);
  if (start == std::string_view::npos) return {};
  std::size_t end = request_line.find_first_of(kBlank, start);
  return request_line.substr(start, end == std::string_view::npos ? end : end - start);
}

std::string collapse_slashes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

std::string script_name(std::string_view uri, std::string_view path_info) {
  std::string out = collapse_slashes(uri);
  std::string tail = collapse_slashes(path_info);
  if (!tail.empty() && out.size() >= tail.size() &&
      std::string_view(out).substr(out.size() - tail.size()) == tail) {
    out.resize(out.size() - tail.size());
  }
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace mp::wsgi_rules
