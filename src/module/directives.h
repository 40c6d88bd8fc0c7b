// The command table: every mod_python directive this module accepts (spec §6.1).
#pragma once

#include "apache/apache.h"

namespace mp::module {

// The mod_python directives followed by the WSGI ones (module/wsgi_directives.h).
const command_rec* all_commands() noexcept;

// Whether an AddHandler directive passed through this module while the configuration was
// read (then every section knows its own mod_python extensions).
bool addhandler_hook_ran() noexcept;

}  // namespace mp::module
