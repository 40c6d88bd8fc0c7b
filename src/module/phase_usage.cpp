// Walks the configuration tree for Python*Handler directives and AllowOverride settings.
#include "module/phase_usage.h"

#include <strings.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "common/extension_list.h"

namespace mp::module {
namespace {

// "AddHandler mod_python .py .psp": remembers the extensions (req.get_addhandler_exts()).
void note_addhandler(const char* args, PhaseUsage* usage) {
  std::string_view text(args);
  std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return;
  std::size_t end = std::min(text.find_first_of(" \t", start), text.size());
  std::string handler(text.substr(start, end - start));
  if (strcasecmp(handler.c_str(), "mod_python") != 0 &&
      strcasecmp(handler.c_str(), "python-program") != 0) {
    return;
  }
  usage->addhandler_exts = merge_extension_lists(usage->addhandler_exts, text.substr(end));
}

bool ends_with(const char* name, const char* suffix) {
  std::size_t len = std::strlen(name);
  std::size_t tail = std::strlen(suffix);
  return len >= tail && strcasecmp(name + len - tail, suffix) == 0;
}

// Python*Handler, PythonHandlerModule, Python*Filter, PythonImport: code of the mod_python
// API runs (settings such as PythonDenyStaticSource or PythonPath alone do not say so).
bool runs_python_code(const char* name) {
  return strncasecmp(name, "Python", 6) == 0 &&
         (ends_with(name, "Handler") || ends_with(name, "HandlerModule") ||
          ends_with(name, "Filter") || strcasecmp(name, "PythonImport") == 0);
}

void scan(const ap_directive_t* node, PhaseUsage* usage) {
  for (; node != nullptr; node = node->next) {
    const char* name = node->directive;
    if (name != nullptr) {
      if (runs_python_code(name)) usage->python_code = true;
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
