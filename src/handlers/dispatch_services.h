// Services the request object needs from the dispatcher (req.add_handler, main/prev/next).
#pragma once

namespace mp::handlers {

// Installs them into python::dispatch_services(); called once per child.
void install_dispatch_services() noexcept;

}  // namespace mp::handlers
