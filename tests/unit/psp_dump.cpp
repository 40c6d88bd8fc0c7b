// Test driver: prints the Python source generated for a PSP page (file argument or stdin);
// on a parse error prints "file:line: message" to stderr and exits with status 1.
// Used by psp_codegen_props.py (compile() and 3.5-equivalence properties).
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "common/psp_parser.h"

namespace {

bool read_file(const std::string& path, std::string* content, int* os_errno) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *os_errno = errno != 0 ? errno : ENOENT;
    return false;
  }
  content->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  mp::PspOptions options;
  options.read_include = read_file;
  std::string page;
  if (argc > 1) {
    const std::string path = argv[1];
    int os_errno = 0;
    if (!read_file(path, &page, &os_errno)) {
      std::cerr << path << ": cannot read\n";
      return 2;
    }
    options.page_name = path;
    options.dir = path.substr(0, path.rfind('/') + 1);
  } else {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    page = buffer.str();
  }
  if (argc > 2) options.dir = argv[2];
  std::string code;
  mp::PspError error;
  if (!mp::psp_generate(page, options, &code, &error)) {
    std::cerr << error.file << ':' << error.line << ": " << error.message << '\n';
    return 1;
  }
  std::cout << code;
  return 0;
}
