// Handler directive argument parsing.
#include "common/handler_spec.h"

namespace mp {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Splits on whitespace, honouring simple double or single quotes as Apache's raw args do.
std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    std::string word;
    if (text[i] == '"' || text[i] == '\'') {
      char quote = text[i++];
      while (i < text.size() && text[i] != quote) word += text[i++];
      if (i < text.size()) ++i;
    } else {
      while (i < text.size() && !is_space(text[i])) word += text[i++];
    }
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace

bool is_dotted_name(std::string_view text) noexcept {
  if (text.empty()) return false;
  bool at_start = true;
  for (char c : text) {
    if (c == '.') {
      if (at_start) return false;
      at_start = true;
    } else if (at_start) {
      if (!is_ident_start(c)) return false;
      at_start = false;
    } else if (!is_ident_char(c)) {
      return false;
    }
  }
  return !at_start;
}

bool parse_handler_spec(std::string_view text, HandlerSpec* out) {
  auto sep = text.find("::");
  std::string_view module = text.substr(0, sep);
  std::string_view object =
      sep == std::string_view::npos ? std::string_view{} : text.substr(sep + 2);
  if (!is_dotted_name(module)) return false;
  if (sep != std::string_view::npos && !is_dotted_name(object)) return false;
  out->module.assign(module);
  out->object.assign(object);
  return true;
}

std::string parse_handler_directive(std::string_view raw_args, HandlerDirectiveArgs* out) {
  bool in_extensions = false;
  for (auto& word : split_words(raw_args)) {
    if (word == "|") {
      if (in_extensions) return "'|' may appear only once";
      in_extensions = true;
      continue;
    }
    if (in_extensions) {
      if (word.size() < 2 || word[0] != '.') {
        return "extension '" + word + "' after '|' must start with a dot, e.g. .py";
      }
      out->extensions.push_back(std::move(word));
      continue;
    }
    HandlerSpec spec;
    if (!parse_handler_spec(word, &spec)) {
      return "'" + word + "' is not a handler of the form module[::object]";
    }
    out->handlers.push_back(std::move(word));
  }
  if (out->handlers.empty()) return "at least one handler is required";
  if (in_extensions && out->extensions.empty()) return "'|' must be followed by extensions";
  return {};
}

std::string_view filename_extension(std::string_view filename) noexcept {
  auto slash = filename.rfind('/');
  std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  auto dot = base.find('.');
  if (dot == std::string_view::npos) return {};
  return base.substr(dot);
}

}  // namespace mp
