// Space-separated extension lists for req.get_addhandler_exts().
#include "common/extension_list.h"

#include <cctype>

namespace mp {
namespace {

template <typename Fn>
void for_each_word(std::string_view list, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    while (pos < list.size() && (list[pos] == ' ' || list[pos] == '\t')) ++pos;
    std::size_t start = pos;
    while (pos < list.size() && list[pos] != ' ' && list[pos] != '\t') ++pos;
    if (pos > start) fn(list.substr(start, pos - start));
  }
}

}  // namespace

std::string mime_extension_key(std::string_view ext) {
  if (!ext.empty() && ext.front() == '.') ext.remove_prefix(1);
  std::string key(ext);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

void add_extension(std::string* list, std::string_view ext) {
  std::string key = mime_extension_key(ext);
  if (key.empty()) return;
  bool present = false;
  for_each_word(*list, [&](std::string_view word) { present = present || word == key; });
  if (present) return;
  if (!list->empty()) *list += ' ';
  *list += key;
}

std::string merge_extension_lists(std::string_view first, std::string_view second) {
  std::string out;
  for_each_word(first, [&](std::string_view word) { add_extension(&out, word); });
  for_each_word(second, [&](std::string_view word) { add_extension(&out, word); });
  return out;
}

}  // namespace mp
