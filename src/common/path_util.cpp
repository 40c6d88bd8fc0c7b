// Path helpers.
#include "common/path_util.h"

namespace mp {

std::string with_trailing_slash(std::string_view dir) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out += '/';
  return out;
}

std::string parent_directory(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return std::string(path.substr(0, slash + 1));
}

}  // namespace mp
