// One C function per configured Python output filter name, for mod_filter: FilterProvider and
// AddOutputFilterByType call a provider's function under the chain's own filter record, which
// does not say which provider runs. A function that knows its name does.
#pragma once

#include "apache/apache.h"

namespace mp::handlers {

// The function to register for the Python output filter `name` (config time, single-threaded).
// The same name always gets the same function; once every slot is taken, the shared
// python_output_filter (which only knows the record's name) is returned.
ap_out_filter_func output_function_for(const char* name) noexcept;

// True for python_output_filter and every slot function.
bool is_python_output_function(ap_out_filter_func func) noexcept;

}  // namespace mp::handlers
