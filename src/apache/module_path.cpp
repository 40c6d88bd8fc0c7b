// Finds python/ relative to the loaded mod_python.so (build tree), else the install path.
#include "apache/module_path.h"

#include <dlfcn.h>
#include <sys/stat.h>

namespace mp::apache {
namespace {

bool has_package(const std::string& dir) {
  struct stat st {};
  return !dir.empty() && ::stat((dir + "/mod_python/__init__.py").c_str(), &st) == 0;
}

void marker() {}

}  // namespace

std::string python_package_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&marker), &info) != 0 && info.dli_fname != nullptr) {
    std::string so_path(info.dli_fname);
    auto slash = so_path.rfind('/');
    if (slash != std::string::npos) {
      // The build directory holds a `python` link to the source package.
      std::string candidate = so_path.substr(0, slash) + "/python";
      if (has_package(candidate)) return candidate;
    }
  }
  std::string installed = MP_INSTALL_PYDIR;
  if (has_package(installed)) return installed;
  return {};
}

}  // namespace mp::apache
