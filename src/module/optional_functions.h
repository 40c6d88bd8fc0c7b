// APR optional functions other modules can call (spec §3.2): mp_acquire_interpreter,
// mp_release_interpreter, mp_get_request_object, mp_get_server_object,
// mp_get_connection_object.
#pragma once

namespace mp::module {

void register_optional_functions() noexcept;

}  // namespace mp::module
