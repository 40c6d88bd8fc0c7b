// Parsing of handler directive arguments: "module[::object] ... [| .ext ...]" (spec §2.2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mp {

struct HandlerSpec {
  std::string module;  // dotted module name
  std::string object;  // dotted object path; empty = the phase's default object
};

// Splits "module::object"; returns false when the text is not a usable handler name.
bool parse_handler_spec(std::string_view text, HandlerSpec* out);

struct HandlerDirectiveArgs {
  std::vector<std::string> handlers;
  std::vector<std::string> extensions;  // each starts with '.'
};

// Parses the raw arguments of a Python*Handler directive. Returns an error message, or an
// empty string on success.
std::string parse_handler_directive(std::string_view raw_args, HandlerDirectiveArgs* out);

// The extension mod_python matches "| .ext" against: everything after the first dot of the
// basename, dot included ("a.tar.gz" -> ".tar.gz"); empty when there is none.
std::string_view filename_extension(std::string_view filename) noexcept;

// Whether a dotted Python name (module or object path) is syntactically valid.
bool is_dotted_name(std::string_view text) noexcept;

}  // namespace mp
