// Walks the configuration tree for Python*Handler directives and AllowOverride settings.
#include "module/phase_usage.h"

#include <strings.h>

#include <cstring>
#include <string>

#include "common/extension_list.h"

namespace mp::module {
namespace {

// "AddHandler mod_python .py .psp": remembers the extensions (req.get_addhandler_exts()).
void note_addhandler(const char* args, PhaseUsage* usage) {
  std::string text(args);
  std::size_t pos = 0;
  auto next_word = [&]() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') ++pos;
    return text.substr(start, pos - start);
  };
  std::string handler = next_word();
  if (strcasecmp(handler.c_str(), "mod_python") != 0 &&
      strcasecmp(handler.c_str(), "python-program") != 0) {
    return;
  }
  for (std::string ext = next_word(); !ext.empty(); ext = next_word()) {
    add_extension(&usage->addhandler_exts, ext);
  }
}

void scan(const ap_directive_t* node, PhaseUsage* usage) {
  for (; node != nullptr; node = node->next) {
    const char* name = node->directive;
    if (name != nullptr) {
      if (auto phase = phase_from_directive(name)) {
        usage->phases.set(phase_index(*phase));
      } else if (strcasecmp(name, "PythonHandlerModule") == 0) {
        for (std::size_t i = 0; i < kPhaseCount; ++i) usage->phases.set(i);
      } else if ((strcasecmp(name, "AllowOverride") == 0 ||
                  strcasecmp(name, "AllowOverrideList") == 0) &&
                 node->args != nullptr && strcasecmp(node->args, "None") != 0) {
        usage->htaccess_possible = true;
      } else if (strcasecmp(name, "AddHandler") == 0 && node->args != nullptr) {
        note_addhandler(node->args, usage);
      }
    }
    scan(node->first_child, usage);
  }
}

}  // namespace

PhaseUsage scan_phase_usage(const ap_directive_t* tree) noexcept {
  PhaseUsage usage;
  scan(tree, &usage);
  return usage;
}

}  // namespace mp::module
