// Small pure helpers on paths.
#pragma once

#include <string>
#include <string_view>

namespace mp {

// "dir" -> "dir/"; "" stays "".
std::string with_trailing_slash(std::string_view dir);

// Parent directory of a file path with trailing slash ("/a/b.py" -> "/a/").
std::string parent_directory(std::string_view path);

}  // namespace mp
