// Pure PEP 3333 / CGI rules (src/common/wsgi_rules.*).
#include "common/wsgi_rules.h"

#include <gtest/gtest.h>

namespace mp::wsgi_rules {
namespace {

TEST(Status, AcceptsCodeAndReason) {
  std::string error;
  EXPECT_EQ(parse_status("200 OK", &error), 200);
  EXPECT_EQ(parse_status("404", &error), 404);
  EXPECT_EQ(parse_status("599 Custom Reason Phrase", &error), 599);
}

TEST(Status, RejectsMalformed) {
  std::string error;
  EXPECT_FALSE(parse_status("", &error));
  EXPECT_FALSE(parse_status("20", &error));
  EXPECT_FALSE(parse_status("OK 200", &error));
  EXPECT_FALSE(parse_status("200OK", &error));
  EXPECT_FALSE(parse_status("099 Low", &error));
  EXPECT_FALSE(parse_status("100 Continue", &error));  // interim, never a final response
  EXPECT_FALSE(parse_status("101 Switching Protocols", &error));
  EXPECT_FALSE(parse_status("600 Weird", &error));
  EXPECT_FALSE(parse_status("999", &error));
  EXPECT_FALSE(parse_status("200 OK\r\nX: y", &error));
  EXPECT_FALSE(parse_status(std::string_view("200 O\0K", 7), &error));
  EXPECT_FALSE(error.empty());
}

TEST(Headers, Names) {
  EXPECT_TRUE(valid_header_name("Content-Type"));
  EXPECT_TRUE(valid_header_name("X-Custom_1"));
  EXPECT_FALSE(valid_header_name(""));
  EXPECT_FALSE(valid_header_name("Bad Name"));
  EXPECT_FALSE(valid_header_name("Bad:Name"));
  EXPECT_FALSE(valid_header_name("Bad\nName"));
}

TEST(Headers, Values) {
  EXPECT_EQ(check_header_value("text/html; charset=utf-8"), ValueProblem::kNone);
  EXPECT_EQ(check_header_value("a\tb"), ValueProblem::kNone);
  EXPECT_EQ(check_header_value("a\r\nSet-Cookie: x"), ValueProblem::kLineBreak);
  EXPECT_EQ(check_header_value("a\nb"), ValueProblem::kLineBreak);
  EXPECT_EQ(check_header_value(std::string_view("a\0b", 3)), ValueProblem::kNul);
  EXPECT_EQ(check_header_value("a\x01"), ValueProblem::kControl);
  EXPECT_EQ(check_header_value("caf\xe9"), ValueProblem::kNone);  // Latin-1 byte
}

TEST(Headers, HopByHop) {
  EXPECT_TRUE(is_hop_by_hop("Connection"));
  EXPECT_TRUE(is_hop_by_hop("transfer-encoding"));
  EXPECT_TRUE(is_hop_by_hop("KEEP-ALIVE"));
  EXPECT_FALSE(is_hop_by_hop("Content-Length"));
  EXPECT_FALSE(is_hop_by_hop("X-Connection"));
}

TEST(ContentLength, Parses) {
  EXPECT_EQ(parse_content_length("0"), 0u);
  EXPECT_EQ(parse_content_length(" 1234 "), 1234u);
  EXPECT_EQ(parse_content_length("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(parse_content_length(""));
  EXPECT_FALSE(parse_content_length("-1"));
  EXPECT_FALSE(parse_content_length("12a"));
  EXPECT_FALSE(parse_content_length("1 2"));
  EXPECT_FALSE(parse_content_length("18446744073709551616"));
}

TEST(CgiNames, HttpPrefix) {
  std::string out;
  ASSERT_TRUE(cgi_header_name("User-Agent", &out));
  EXPECT_EQ(out, "HTTP_USER_AGENT");
  ASSERT_TRUE(cgi_header_name("x-forwarded-for", &out));
  EXPECT_EQ(out, "HTTP_X_FORWARDED_FOR");
  EXPECT_FALSE(cgi_header_name("X_Spoofed", &out));  // '_' could impersonate 'X-Spoofed'
  EXPECT_FALSE(cgi_header_name("X.Dot", &out));
  EXPECT_FALSE(cgi_header_name("", &out));
  EXPECT_FALSE(cgi_header_name("Proxy", &out));  // httpoxy: never HTTP_PROXY
  EXPECT_FALSE(cgi_header_name("PROXY", &out));
  ASSERT_TRUE(cgi_header_name("Proxy-Connection", &out));
  EXPECT_EQ(out, "HTTP_PROXY_CONNECTION");
}

TEST(Paths, RequestLineTarget) {
  EXPECT_EQ(request_line_target("GET /a/b?q=1 HTTP/1.1"), "/a/b?q=1");
  EXPECT_EQ(request_line_target("GET  /two-spaces  HTTP/1.1"), "/two-spaces");
  EXPECT_EQ(request_line_target("GET\t/tab HTTP/1.0"), "/tab");
  EXPECT_EQ(request_line_target("GET /http09"), "/http09");
  EXPECT_EQ(request_line_target("GET http://h/x HTTP/1.1"), "http://h/x");
  EXPECT_EQ(request_line_target("GET"), "");
  EXPECT_EQ(request_line_target("GET "), "");
  EXPECT_EQ(request_line_target(""), "");
}

TEST(Paths, CollapseSlashes) {
  EXPECT_EQ(collapse_slashes("//a///b/"), "/a/b/");
  EXPECT_EQ(collapse_slashes(""), "");
}

TEST(Paths, ScriptName) {
  EXPECT_EQ(script_name("/app/foo/bar", "/foo/bar"), "/app");
  EXPECT_EQ(script_name("/app", ""), "/app");
  EXPECT_EQ(script_name("/", "/"), "");
  EXPECT_EQ(script_name("/foo", "/foo"), "");
  EXPECT_EQ(script_name("//app//foo", "/foo"), "/app");
  EXPECT_EQ(script_name("/app/", ""), "/app");
  EXPECT_EQ(script_name("/app/x", "/y"), "/app/x");  // path info not a suffix: keep the URI
}

}  // namespace
}  // namespace mp::wsgi_rules
