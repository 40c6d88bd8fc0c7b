// libFuzzer target for the PSP code generator (make fuzz). The input is a page followed by up
// to three include files, separated by 0x01 bytes and served as "a", "b", "c" to the page.
// Checks: no crash or sanitizer report; on success the code is valid UTF-8 without NUL bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/psp_parser.h"

namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 1;
    if (c >= 0xF0) {
      len = 4;
    } else if (c >= 0xE0) {
      len = 3;
    } else if (c >= 0xC0) {
      len = 2;
    } else if (c >= 0x80) {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<std::uint8_t>(s[i + k]) & 0xC0U) != 0x80U) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (parts.size() < 3) {
    const std::size_t sep = input.find('\x01', start);
    if (sep == std::string_view::npos) break;
    parts.emplace_back(input.substr(start, sep - start));
    start = sep + 1;
  }
  parts.emplace_back(input.substr(start));
  mp::PspOptions options;
  options.dir = "/fuzz";
  options.max_output_bytes = std::size_t{1} << 22U;
  options.read_include = [&parts](const std::string& path, std::string* content, int* os_errno) {
    const std::size_t index = path == "/fuzz/a"   ? 1
                              : path == "/fuzz/b" ? 2
                              : path == "/fuzz/c" ? 3
                                                  : 0;
    if (index == 0 || index >= parts.size()) {
      *os_errno = 2;
      return false;
    }
    *content = parts[index];
    return true;
  };
  std::string code;
  mp::PspError error;
  if (mp::psp_generate(parts[0], options, &code, &error)) {
    if (code.find('\0') != std::string::npos || !valid_utf8(code)) std::abort();
  } else if (error.line == 0 || error.message.empty()) {
    std::abort();
  }
  return 0;
}
