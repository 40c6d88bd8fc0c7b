// PSP (Python Server Pages) parser and code generator (spec §14.1): page bytes in, Python
// source out. Pure: files named by <%@ include %> are read through a caller-supplied callback.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace mp {

struct PspError {
  std::string file;      // page or included file the error is in ("<string>" for strings)
  std::size_t line = 0;  // 1-based line in `file`
  std::string message;
  int os_errno = 0;          // non-zero when an included file could not be read ...
  std::string include_path;  // ... and this is its path
};

// Reads an included file: fills *content and returns true, or sets *os_errno and returns false.
using PspIncludeReader =
    std::function<bool(const std::string& path, std::string* content, int* os_errno)>;

struct PspOptions {
  std::string page_name = "<string>";  // used in error reports only
  std::string dir;                     // base of relative include paths ("" = as given)
  PspIncludeReader read_include;       // empty = includes are an error
  std::size_t max_include_depth = 16;
  std::size_t max_output_bytes = std::size_t{64} << 20U;
};

// Generates the Python source for `page`. Returns false and fills *error on malformed input
// (unterminated tags, bad directives, include failures, NUL or non-UTF-8 bytes in code).
// The output is valid UTF-8 and, for well-formed code blocks, the same source mod_python 3.5
// generates; differences are listed in docs/reference/python-api.md (PSP).
bool psp_generate(std::string_view page, const PspOptions& options, std::string* code,
                  PspError* error);

}  // namespace mp
