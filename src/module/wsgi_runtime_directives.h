// mod_wsgi's process-wide directives for how Python runs in the children that take a value:
// optimisation, hash seed, warning filters, egg cache, switch interval.
#pragma once

#include "apache/apache.h"
#include "cpython/runtime.h"

namespace mp::module {

const char* directive_python_optimize(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_hash_seed(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_warnings(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_python_eggs(cmd_parms* cmd, void* mconfig, const char* value);
const char* directive_switch_interval(cmd_parms* cmd, void* mconfig, const char* value);

// Copies the settings into the options Python starts with (before start-up, in the child).
void apply_wsgi_runtime_settings(cpython::RuntimeOptions* options);

}  // namespace mp::module
