// Running the handler list of one request phase in C++ (spec §2.3).
#pragma once

#include "apache/apache.h"
#include "common/phase.h"

namespace mp::handlers {

// Runs the Python handlers configured for `phase` and returns the Apache result. Never throws
// and never lets a Python exception escape; DECLINED when no handler is configured.
int run_request_phase(request_rec* r, Phase phase) noexcept;

// PythonInitHandler: the server-level list at post_read_request (`server_level`), a
// directory-level list at header_parser.
int run_init_phase(request_rec* r, bool server_level) noexcept;

}  // namespace mp::handlers
