// Locating our own Python package: beside the built module, or where `make install` put it.
#pragma once

#include <string>

namespace mp::apache {

// The directory to put first on sys.path (it contains mod_python/__init__.py); empty if none.
std::string python_package_dir();

}  // namespace mp::apache
