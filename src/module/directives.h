// The command table: every mod_python directive this module accepts (spec §6.1).
#pragma once

#include "apache/apache.h"

namespace mp::module {

extern const command_rec g_commands[];

}  // namespace mp::module
