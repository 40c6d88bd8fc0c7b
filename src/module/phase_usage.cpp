// Walks the configuration tree for Python*Handler directives and AllowOverride settings.
#include "module/phase_usage.h"

#include <strings.h>

#include <cstring>

namespace mp::module {
namespace {

void scan(const ap_directive_t* node, PhaseUsage* usage) {
  for (; node != nullptr; node = node->next) {
    const char* name = node->directive;
    if (name != nullptr) {
      if (auto phase = phase_from_directive(name)) {
        usage->phases.set(phase_index(*phase));
      } else if (strcasecmp(name, "PythonHandlerModule") == 0) {
        for (std::size_t i = 0; i < kPhaseCount; ++i) usage->phases.set(i);
      } else if (strcasecmp(name, "AllowOverride") == 0 && node->args != nullptr &&
                 strcasecmp(node->args, "None") != 0) {
        usage->htaccess_possible = true;
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
