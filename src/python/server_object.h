// mp_server: view of a server_rec (spec §10.4). Server records outlive every request.
#pragma once

#include <Python.h>

#include <string>

#include "apache/apache.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

struct ServerObject {
  PyObject_HEAD server_rec* s;
};

cpython::Ref make_server(const cpython::Gil& gil, ModuleState* st, server_rec* s);

// The server_rec of an mp_server, or nullptr (TypeError set) for anything else.
server_rec* server_of(ModuleState* st, PyObject* obj) noexcept;

// Shared by req/server/conn: log_error(message, level=APLOG_ERR) into Apache's error log.
bool parse_log_args(PyObject* args, PyObject* kwargs, std::string* message, int* level);

// get_options() semantics, as in 3.5: empty values (which only cancel an inherited option) are
// removed from `options`, and the result is a live view of it. `owner`/`owner_dead` as for
// make_table_view (the request whose merged table it is; none for a server's).
cpython::Ref options_table(const cpython::Gil& gil, ModuleState* st, apr_table_t* options,
                           PyObject* owner, const bool* owner_dead);

}  // namespace mp::python
