// PythonConnectionHandler: a Python protocol handler for connections (spec §2.5).
#pragma once

#include "apache/apache.h"

namespace mp::handlers {

// process_connection hook: OK when the Python handler served the connection.
int run_connection_handler(conn_rec* c) noexcept;

}  // namespace mp::handlers
