// Unit tests of the PSP code generator: every construct, indentation, line alignment,
// includes (through a fake file reader), quoting, and malformed input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <string>

#include "common/psp_parser.h"

namespace mp {
namespace {

struct Result {
  bool ok = false;
  std::string code;
  PspError error;
};

Result gen(std::string_view page, const std::map<std::string, std::string>& files = {},
           std::string dir = "/site/") {
  PspOptions options;
  options.page_name = "/site/page.psp";
  options.dir = std::move(dir);
  options.read_include = [files](const std::string& path, std::string* content, int* os_errno) {
    auto it = files.find(path);
    if (it == files.end()) {
      *os_errno = ENOENT;
      return false;
    }
    *content = it->second;
    return true;
  };
  Result r;
  r.ok = psp_generate(page, options, &r.code, &r.error);
  return r;
}

std::string code_of(std::string_view page) {
  Result r = gen(page);
  EXPECT_TRUE(r.ok) << r.error.message;
  return r.code;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(PspGenerate, EmptyPageGeneratesNothing) { EXPECT_EQ(code_of(""), ""); }

TEST(PspGenerate, PlainText) {
  EXPECT_EQ(code_of("hello"), "req.write(\"\"\"hello\"\"\",0)\n");
  EXPECT_EQ(code_of("a\nb\r\nc"), "req.write(\"\"\"a\nb\nc\"\"\",0)\n");
}

TEST(PspGenerate, CodeBlockOnItsOwnLines) {
  EXPECT_EQ(code_of("<html>\n<%\nimport time\n%>\nHello <%=time.time()%>\n</html>"),
            "req.write(\"\"\"<html>\n\"\"\",0);\nimport time\nreq.write(\"\"\"\nHello "
            "\"\"\",0); req.write(str(time.time()),0); req.write(\"\"\"\n</html>\"\"\",0)\n");
}

TEST(PspGenerate, InlineCodeGetsSemicolons) {
  EXPECT_EQ(code_of("abc<% x=1 %>d"),
            "req.write(\"\"\"abc\"\"\",0); x=1 ;req.write(\"\"\"d\"\"\",0)\n");
  EXPECT_EQ(code_of("<%%>"), "req.write(\"\"\"\"\"\",0);;req.write(\"\"\"\"\"\",0)\n");
}

TEST(PspGenerate, ExpressionBlocks) {
  EXPECT_EQ(code_of("a<%=x%><%=y%>"),
            "req.write(\"\"\"a\"\"\",0); req.write(str(x),0); req.write(\"\"\"\"\"\",0); "
            "req.write(str(y),0); req.write(\"\"\"\"\"\",0)\n");
  EXPECT_EQ(code_of("a<%=\nx\n%>b"),
            "req.write(\"\"\"a\"\"\",0); req.write(str(\nx\n),0); req.write(\"\"\"b\"\"\",0)\n");
}

TEST(PspGenerate, IndentationOfLastCodeLineAppliesToText) {
  EXPECT_EQ(code_of("<%\nfor n in range(3):\n    # c\n%>\n<p>x</p>\n<%\n# end\n%>\nonce"),
            "req.write(\"\"\"\"\"\",0);\nfor n in range(3):\n    # c\n    req.write(\"\"\"\n"
            "<p>x</p>\n\"\"\",0);\n# end\nreq.write(\"\"\"\nonce\"\"\",0)\n");
}

TEST(PspGenerate, ColonIndentsFollowingTextOneTab) {
  EXPECT_EQ(code_of("<%\nif x:\n%>\nA\n<%\nelse:\n%>B<%\n%>"),
            "req.write(\"\"\"\"\"\",0);\nif x:\n\treq.write(\"\"\"\nA\n\"\"\",0);\nelse:\n"
            "\treq.write(\"\"\"B\"\"\",0);\nreq.write(\"\"\"\"\"\",0)\n");
  EXPECT_EQ(code_of("<%\nif 1:%>t"),
            "req.write(\"\"\"\"\"\",0);\nif 1:\treq.write(\"\"\"t\"\"\",0)\n");
  EXPECT_EQ(code_of("<%if 1:%>t"),
            "req.write(\"\"\"\"\"\",0);if 1:;\treq.write(\"\"\"t\"\"\",0)\n");
}

TEST(PspGenerate, TabsAndBlankLinesInCode) {
  EXPECT_EQ(code_of("<%\n\tif 1:\n\t\tx=1\n%>t\n<%\n%>"),
            "req.write(\"\"\"\"\"\",0);\n\tif 1:\n\t\tx=1\n\t\treq.write(\"\"\"t\n\"\"\",0);\n"
            "req.write(\"\"\"\"\"\",0)\n");
  EXPECT_EQ(code_of("a\nb<%\n\n%>"),
            "req.write(\"\"\"a\nb\"\"\",0);\n\nreq.write(\"\"\"\"\"\",0)\n");
  // Blanks before "%>" count twice, as in 3.5: once copied, once as the indentation.
  EXPECT_EQ(code_of("<%\nx=1\n  %>t"),
            "req.write(\"\"\"\"\"\",0);\nx=1\n    req.write(\"\"\"t\"\"\",0)\n");
  EXPECT_EQ(code_of("<%\nif 1:\n  \n%>"),
            "req.write(\"\"\"\"\"\",0);\nif 1:\n  \n  \treq.write(\"\"\"\"\"\",0)\n");
}

TEST(PspGenerate, CrLfInCode) {
  EXPECT_EQ(code_of("x\r\ny<%\r\n  a=1\r\n%>"),
            "req.write(\"\"\"x\ny\"\"\",0);\n  a=1\n  req.write(\"\"\"\"\"\",0)\n");
}

TEST(PspGenerate, CommentsAreDropped) {
  EXPECT_EQ(code_of("a<%-- x --%>b"), "req.write(\"\"\"ab\"\"\",0)\n");
  EXPECT_EQ(code_of("a<%-- <% x %> \n --%>b"), "req.write(\"\"\"ab\"\"\",0)\n");
}

TEST(PspGenerate, CloseTagInTextIsText) {
  EXPECT_EQ(code_of("a%>b"), "req.write(\"\"\"a%>b\"\"\",0)\n");
}

TEST(PspGenerate, GeneratedLinesMatchSourceLines) {
  const std::string page = "<h1>\n<%\nfor i in x:\n%>\n<li><%= i %></li>\n<%\n%>\nend\n";
  const std::string code = code_of(page);
  EXPECT_EQ(lines(code), lines(page) + 1);  // the final text literal is closed on a new line
  // "for i in x:" is on line 3 of both.
  EXPECT_EQ(code.substr(0, code.find("for")).find_last_of('\n'),
            code.substr(0, code.find("for")).size() - 1);
  EXPECT_EQ(
      std::count(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(code.find("for")), '\n'),
      2);
}

TEST(PspQuoting, QuotesAndBackslashesStayLiteral) {
  EXPECT_EQ(code_of("a\"\"\"b"), "req.write(\"\"\"a\\\"\\\"\\\"b\"\"\",0)\n");
  EXPECT_EQ(code_of("\\t\\r\\n"), "req.write(\"\"\"\\\\t\\\\r\\\\n\"\"\",0)\n");
  // 3.5 left these unescaped: "\x41" printed "A" and a trailing "\" broke the literal.
  EXPECT_EQ(code_of("\\x41\\"), "req.write(\"\"\"\\\\x41\\\\\"\"\",0)\n");
}

TEST(PspQuoting, NulLoneCrAndNonUtf8InText) {
  EXPECT_EQ(code_of(std::string("a\0b", 3)), "req.write(\"\"\"a\\x00b\"\"\",0)\n");
  EXPECT_EQ(code_of("a\rb"), "req.write(\"\"\"a\\rb\"\"\",0)\n");
  // In code a lone CR ends the line (3.5 turned it into a newline); the text keeps its CR.
  EXPECT_EQ(code_of("a\rb<% x = 1\r%>c"),
            "req.write(\"\"\"a\\rb\"\"\",0); x = 1\nreq.write(\"\"\"c\"\"\",0)\n");
  EXPECT_EQ(code_of("\xc3\xa9\xff\xe2\x82"),
            "req.write(\"\"\"\xc3\xa9\\udcff\\udce2\\udc82\"\"\",0)\n");
  EXPECT_EQ(code_of("\xed\xa0\x80"), "req.write(\"\"\"\\udced\\udca0\\udc80\"\"\",0)\n");
  EXPECT_EQ(code_of("\xf0\x9f\x98\x80"), "req.write(\"\"\"\xf0\x9f\x98\x80\"\"\",0)\n");
}

TEST(PspErrors, UnterminatedBlocksReportTheirLine) {
  Result r = gen("line1\nabc<% x=1\n\n");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 2u);
  EXPECT_EQ(r.error.file, "/site/page.psp");
  EXPECT_NE(r.error.message.find("unterminated '<%'"), std::string::npos);
  EXPECT_TRUE(r.code.empty());
  r = gen("\n\nx<%= y");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 3u);
  EXPECT_NE(r.error.message.find("'<%='"), std::string::npos);
  r = gen("a\n<%-- never closed");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 2u);
  EXPECT_NE(r.error.message.find("comment"), std::string::npos);
  EXPECT_FALSE(gen("<%").ok);
  EXPECT_FALSE(gen("<%-").ok);
  EXPECT_FALSE(gen("<%@").ok);
}

TEST(PspErrors, BadBytesInCode) {
  Result r = gen(std::string("ok\n<% x = 1\0 %>", 15));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 2u);
  EXPECT_NE(r.error.message.find("NUL"), std::string::npos);
  r = gen("<%\nx = '\xff'\n%>");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.line, 2u);
  EXPECT_NE(r.error.message.find("UTF-8"), std::string::npos);
  EXPECT_TRUE(gen("<%\nx = '\xc3\xa9'\n%>").ok);
}

TEST(PspErrors, MalformedDirectives) {
  for (const char* page :
       {"<%@ foo %>", "<%@ include %>", "<%@ include file=a %>", "<%@ include file=\"\" %>",
        "<%@ include file=\"a b\" %>", "<%@ includefile=\"a\" %>", "<%@ include file=\"a\"",
        "x\n<%@ include"}) {
    Result r = gen(page, {{"/site/a", "A"}});
    EXPECT_FALSE(r.ok) << page;
    EXPECT_NE(r.error.message.find("directive"), std::string::npos) << page;
  }
  EXPECT_EQ(gen("\n\n<%@ bogus %>").error.line, 3u);
}

TEST(PspInclude, InlinesTextAndCode) {
  Result r = gen("x<%@ include file=\"inc.psp\" %>y", {{"/site/inc.psp", "I<% a=1 %>J\n"}});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.code, "req.write(\"\"\"xI\"\"\",0); a=1 ;req.write(\"\"\"J\ny\"\"\",0)\n");
}

TEST(PspInclude, SpacingVariantsAndAbsolutePaths) {
  EXPECT_TRUE(gen("<%@ include  file = \"a\" %>", {{"/site/a", "A"}}).ok);
  EXPECT_TRUE(gen("<%@include file=\"/abs/b\"%>", {{"/abs/b", "B"}}).ok);
  EXPECT_TRUE(gen("<%@ include file=\"a\" %>", {{"/other/a", "A"}}, "/other").ok);
}

TEST(PspInclude, NestedIncludesAreRelativeToThePageDirectory) {
  Result r = gen("<%@ include file=\"sub/one\" %>",
                 {{"/site/sub/one", "1<%@ include file=\"two\" %>"}, {"/site/two", "2"}});
  ASSERT_TRUE(r.ok) << r.error.message;
  EXPECT_EQ(r.code, "req.write(\"\"\"12\"\"\",0)\n");
}

TEST(PspInclude, MissingFileCarriesErrno) {
  Result r = gen("a\n<%@ include file=\"gone\" %>");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.os_errno, ENOENT);
  EXPECT_EQ(r.error.include_path, "/site/gone");
  EXPECT_EQ(r.error.line, 2u);
  EXPECT_NE(r.error.message.find("/site/gone"), std::string::npos);
}

TEST(PspInclude, CyclesAndDepthAreErrors) {
  Result r = gen("<%@ include file=\"a\" %>", {{"/site/a", "<%@ include file=\"b\" %>"},
                                               {"/site/b", "\n<%@ include file=\"a\" %>"}});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.message.find("cycle"), std::string::npos);
  EXPECT_EQ(r.error.file, "/site/b");
  EXPECT_EQ(r.error.line, 2u);
  std::map<std::string, std::string> chain;
  for (int i = 0; i < 40; ++i) {
    chain["/site/f" + std::to_string(i)] = "<%@ include file=\"f" + std::to_string(i + 1) + "\" %>";
  }
  r = gen("<%@ include file=\"f0\" %>", chain);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.message.find("deeply"), std::string::npos);
}

TEST(PspInclude, ErrorsInsideIncludedFilesNameThatFile) {
  Result r = gen("<%@ include file=\"inc\" %>", {{"/site/inc", "ok\n\n<% open"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.file, "/site/inc");
  EXPECT_EQ(r.error.line, 3u);
}

TEST(PspInclude, OutputSizeIsBounded) {
  // Each level includes the next twice: 2^15 copies without a bound.
  std::map<std::string, std::string> tree;
  for (int i = 0; i < 15; ++i) {
    const std::string next = "<%@ include file=\"t" + std::to_string(i + 1) + "\" %>";
    tree["/site/t" + std::to_string(i)] = next + next;
  }
  tree["/site/t15"] = std::string(4096, 'x');
  PspOptions options;
  options.dir = "/site/";
  options.max_output_bytes = 1 << 20;
  options.read_include = [&tree](const std::string& path, std::string* content, int*) {
    *content = tree.at(path);
    return true;
  };
  std::string code;
  PspError error;
  EXPECT_FALSE(psp_generate("<%@ include file=\"t0\" %>", options, &code, &error));
  EXPECT_NE(error.message.find("size limit"), std::string::npos);
}

TEST(PspInclude, WithoutReaderIncludesFail) {
  PspOptions options;
  std::string code;
  PspError error;
  EXPECT_FALSE(psp_generate("<%@ include file=\"a\" %>", options, &code, &error));
  EXPECT_EQ(error.file, "<string>");
}

}  // namespace
}  // namespace mp
