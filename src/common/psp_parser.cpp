// PSP code generator: a hand-written scanner with the states of mod_python 3.5's lexer (text,
// code, indentation after a code newline, directive, comment), producing the same Python text.

#include "common/psp_parser.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mp {

namespace {

constexpr std::string_view kTextOpen = "req.write(\"\"\"";
constexpr std::string_view kTextClose = "\"\"\",0)";

// Length of the well-formed UTF-8 sequence starting at data[pos] (>= 0x80), 0 when invalid.
std::size_t utf8_sequence_length(std::string_view data, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(data[pos + i]); };
  const std::uint8_t lead = byte(0);
  std::size_t len = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (pos + len > data.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < len; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return len;
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string hex_byte(std::uint8_t b) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  return {kDigits[b >> 4U], kDigits[b & 0x0FU]};
}

// One file being scanned: its bytes, name, position and current line.
struct Cursor {
  std::string_view data;
  std::string file;
  std::size_t pos = 0;
  std::size_t line = 1;

  [[nodiscard]] bool at_end() const noexcept { return pos >= data.size(); }
  [[nodiscard]] bool starts_with(std::string_view s) const noexcept {
    return data.substr(pos).starts_with(s);
  }
  // Length of a line break at pos ("\n" or "\r\n"), 0 when there is none.
  [[nodiscard]] std::size_t newline_length() const noexcept {
    if (starts_with("\n")) return 1;
    if (starts_with("\r\n")) return 2;
    return 0;
  }
  // In code a lone CR ends the line too, as Python's universal newlines read it (3.5 turned
  // it into "\n"); in page text it stays a CR byte.
  [[nodiscard]] std::size_t code_newline_length() const noexcept {
    if (const std::size_t n = newline_length(); n != 0) return n;
    return starts_with("\r") ? 1 : 0;
  }
};

class Generator {
 public:
  Generator(const PspOptions& options, std::string* out, PspError* error)
      : options_(options), out_(*out), error_(*error) {}

  bool run(std::string_view page) {
    Cursor cur{page, options_.page_name};
    if (page.empty()) return true;  // 3.5 generates nothing for an empty page
    out_ += kTextOpen;
    if (!scan_text(cur, 0)) return false;
    out_ += kTextClose;
    out_ += '\n';
    return true;
  }

 private:
  enum class Tag { kNone, kComment, kEcho, kDirective, kCode };

  bool fail(const Cursor& cur, std::size_t line, std::string message, int os_errno = 0) {
    error_.file = cur.file;
    error_.line = line;
    error_.message = std::move(message);
    error_.os_errno = os_errno;
    return false;
  }

  bool check_size(const Cursor& cur) {
    if (out_.size() <= options_.max_output_bytes) return true;
    return fail(cur, cur.line, "generated code exceeds the size limit");
  }

  static Tag tag_at(const Cursor& cur) noexcept {
    if (!cur.starts_with("<%")) return Tag::kNone;
    if (cur.starts_with("<%--")) return Tag::kComment;
    if (cur.starts_with("<%=")) return Tag::kEcho;
    if (cur.starts_with("<%@")) return Tag::kDirective;
    return Tag::kCode;
  }

  // Text until the end of the file; tags are handled as they come. Returns at end of input.
  bool scan_text(Cursor& cur, std::size_t depth) {
    while (!cur.at_end()) {
      const Tag tag = tag_at(cur);
      bool ok = true;
      switch (tag) {
        case Tag::kNone:
          append_text_byte(cur);
          continue;
        case Tag::kComment:
          ok = skip_comment(cur);
          break;
        case Tag::kEcho:
          ok = scan_code(cur, /*echo=*/true);
          break;
        case Tag::kDirective:
          ok = directive(cur, depth);
          break;
        case Tag::kCode:
          ok = scan_code(cur, /*echo=*/false);
          break;
      }
      if (!ok || !check_size(cur)) return false;
    }
    return check_size(cur);
  }

  // One byte (or UTF-8 sequence) of page text, quoted for a """...""" literal.
  void append_text_byte(Cursor& cur) {
    const char c = cur.data[cur.pos];
    if (const std::size_t nl = cur.newline_length(); nl != 0) {
      out_ += '\n';
      cur.pos += nl;
      ++cur.line;
      return;
    }
    ++cur.pos;
    switch (c) {
      case '"':
        out_ += "\\\"";
        return;
      case '\\':  // 3.5 doubles only \n, \r, \t; doubling all keeps every byte literal
        out_ += "\\\\";
        return;
      case '\r':  // a lone CR would read as a line break to Python
        out_ += "\\r";
        return;
      case '\0':
        out_ += "\\x00";
        return;
      default:
        break;
    }
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte < 0x80) {
      out_ += c;
      return;
    }
    const std::size_t len = utf8_sequence_length(cur.data, cur.pos - 1);
    if (len == 0) {  // written back as the original byte by req.write (surrogateescape)
      out_ += "\\udc";
      out_ += hex_byte(byte);
      return;
    }
    out_.append(cur.data.substr(cur.pos - 1, len));
    cur.pos += len - 1;
  }

  bool skip_comment(Cursor& cur) {
    const std::size_t start_line = cur.line;
    const std::size_t end = cur.data.find("--%>", cur.pos + 4);
    if (end == std::string_view::npos) {
      return fail(cur, start_line, "unterminated comment '<%--' (no '--%>')");
    }
    cur.line += static_cast<std::size_t>(
        std::count(cur.data.begin() + static_cast<std::ptrdiff_t>(cur.pos),
                   cur.data.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    cur.pos = end + 4;
    return true;
  }

  // A <% ... %> or <%= ... %> block, from its opening tag through "%>".
  bool scan_code(Cursor& cur, bool echo) {
    const std::size_t start_line = cur.line;
    if (echo) {
      out_ += "\"\"\",0); req.write(str(";
      cur.pos += 3;
    } else {
      out_ += "\"\"\",0);";
      whitespace_.clear();
      seen_newline_ = false;
      cur.pos += 2;
    }
    while (!cur.at_end()) {
      if (const std::size_t nl = cur.code_newline_length(); nl != 0) {
        out_ += '\n';
        cur.pos += nl;
        ++cur.line;
        seen_newline_ = true;
        indentation(cur);
        continue;
      }
      if (cur.starts_with("%>")) {
        cur.pos += 2;
        close_code(echo);
        return true;
      }
      if (!append_code_byte(cur)) return false;
    }
    return fail(cur, start_line,
                echo ? "unterminated '<%=' (no '%>')" : "unterminated '<%' (no '%>')");
  }

  // Start of a code line: its leading blanks become the indentation of the text that follows.
  void indentation(Cursor& cur) {
    std::size_t end = cur.pos;
    while (end < cur.data.size() && is_blank(cur.data[end])) ++end;
    if (end > cur.pos) {
      whitespace_.assign(cur.data.substr(cur.pos, end - cur.pos));
      out_ += whitespace_;
      cur.pos = end;
      return;
    }
    if (!cur.starts_with("%>")) whitespace_.clear();
  }

  bool append_code_byte(Cursor& cur) {
    const char c = cur.data[cur.pos];
    const auto byte = static_cast<std::uint8_t>(c);
    if (c == '\0') return fail(cur, cur.line, "NUL byte in a code block");
    std::size_t len = 1;
    if (byte >= 0x80) {
      len = utf8_sequence_length(cur.data, cur.pos);
      if (len == 0) return fail(cur, cur.line, "invalid UTF-8 in a code block");
    }
    out_.append(cur.data.substr(cur.pos, len));
    cur.pos += len;
    after_colon_ = c == ':';
    return true;
  }

  void close_code(bool echo) {
    if (echo) {
      out_ += "),0); ";
      out_ += kTextOpen;
      return;
    }
    if (!seen_newline_) out_ += ';';  // "<% a %>" stays on the text's line
    if (after_colon_) {               // "<% if x: %>": the text is the block's body
      whitespace_ += '\t';
      after_colon_ = false;
    }
    out_ += whitespace_;
    out_ += kTextOpen;
  }

  static void skip_blanks(Cursor& cur, std::size_t* lines) {
    while (!cur.at_end()) {
      const char c = cur.data[cur.pos];
      if (c == '\n') {
        ++*lines;
      } else if (!is_blank(c) && c != '\r') {
        return;
      }
      ++cur.pos;
    }
  }

  bool expect(Cursor& cur, std::string_view word, std::size_t* lines) {
    skip_blanks(cur, lines);
    if (!cur.starts_with(word)) return false;
    cur.pos += word.size();
    return true;
  }

  // <%@ include file="path" %>: the only directive; the file's text is inlined in place.
  bool directive(Cursor& cur, std::size_t depth) {
    const std::size_t start_line = cur.line;
    cur.pos += 3;
    std::size_t lines = 0;
    std::string path;
    const bool ok = expect(cur, "include", &lines) && !cur.at_end() &&
                    is_blank(cur.data[cur.pos]) && expect(cur, "file", &lines) &&
                    expect(cur, "=", &lines) && expect(cur, "\"", &lines) &&
                    read_path(cur, &path) && expect(cur, "%>", &lines);
    cur.line += lines;
    if (!ok) {
      return fail(cur, start_line,
                  "malformed directive: only <%@ include file=\"path\" %> is supported");
    }
    return include(cur, start_line, path, depth);
  }

  static bool read_path(Cursor& cur, std::string* path) {
    const std::size_t end = cur.data.find('"', cur.pos);
    if (end == std::string_view::npos || end == cur.pos) return false;
    std::string_view name = cur.data.substr(cur.pos, end - cur.pos);
    if (std::any_of(name.begin(), name.end(),
                    [](char c) { return is_blank(c) || c == '\n' || c == '\r' || c == '\0'; })) {
      return false;
    }
    path->assign(name);
    cur.pos = end + 1;
    return true;
  }

  bool include(const Cursor& cur, std::size_t line, const std::string& name, std::size_t depth) {
    std::string path = name;
    if (name.front() != '/' && !options_.dir.empty()) {
      path = options_.dir;
      if (path.back() != '/') path += '/';
      path += name;
    }
    if (!options_.read_include) return fail(cur, line, "includes are not available here");
    if (depth + 1 > options_.max_include_depth) {
      return fail(cur, line, "includes nested too deeply at '" + path + "'");
    }
    if (std::find(stack_.begin(), stack_.end(), path) != stack_.end()) {
      return fail(cur, line, "include cycle: '" + path + "' includes itself");
    }
    std::string content;
    int os_errno = 0;
    if (!options_.read_include(path, &content, &os_errno)) {
      error_.include_path = path;
      return fail(cur, line, "cannot read included file '" + path + "'", os_errno);
    }
    stack_.push_back(path);
    Cursor inner{content, path};
    const bool ok = scan_text(inner, depth + 1);
    stack_.pop_back();
    return ok;
  }

  const PspOptions& options_;
  std::string& out_;
  PspError& error_;
  std::vector<std::string> stack_;  // include paths being scanned, for cycle detection
  std::string whitespace_;          // indentation applied to text after the current code block
  bool seen_newline_ = false;       // the current code block spans lines
  bool after_colon_ = false;        // the last code character was ':'
};

}  // namespace

bool psp_generate(std::string_view page, const PspOptions& options, std::string* code,
                  PspError* error) {
  code->clear();
  *error = PspError{};
  Generator generator(options, code, error);
  if (generator.run(page)) return true;
  code->clear();
  return false;
}

}  // namespace mp
