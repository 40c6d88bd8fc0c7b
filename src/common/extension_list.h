// The file extensions `AddHandler mod_python` maps, in the form mod_mime keys them.
#pragma once

#include <string>
#include <string_view>

namespace mp {

// mod_mime files "AddHandler h .PY" under "py" (one leading dot dropped, lower case), and
// mod_python 3.5's req.get_addhandler_exts() listed those keys: callers (the publisher,
// Vampire) build the regex "\\." + ext from them.
std::string mime_extension_key(std::string_view ext);

// Adds the key of `ext` to the space-separated `list` unless it is empty or already there.
void add_extension(std::string* list, std::string_view ext);

// The union of two space-separated lists, `first`'s keys first.
std::string merge_extension_lists(std::string_view first, std::string_view second);

}  // namespace mp
