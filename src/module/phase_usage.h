// Which request phases the configuration uses, read from the parsed configuration tree before
// directives are processed, so that only those hooks are registered (spec: no cost on
// requests for phases nobody configured).
#pragma once

#include <bitset>
#include <string>

#include "apache/apache.h"
#include "common/phase.h"

namespace mp::module {

struct PhaseUsage {
  std::bitset<kPhaseCount> phases;
  bool htaccess_possible = false;  // some AllowOverride other than None: .htaccess may add any
  std::string addhandler_exts;     // extensions given to `AddHandler mod_python`
  bool python_code = false;        // a mod_python handler, filter or import (not WSGI-only)
};

PhaseUsage scan_phase_usage(const ap_directive_t* tree) noexcept;

}  // namespace mp::module
