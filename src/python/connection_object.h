// mp_conn: view of a conn_rec (spec §10.3); one object per (connection, interpreter).
#pragma once

#include <Python.h>

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "python/module_state.h"

namespace mp::python {

struct ConnectionObject {
  PyObject_HEAD conn_rec* c;  // null once the connection has ended
  bool dead;
  cpython::Interpreter* interp;
  PyObject* notes;
  apr_bucket_brigade* input;   // data read from the connection not yet returned
  const void* dispatch_entry;  // apache::HandlerEntry of the running connection handler
};

// The connection's object in `interp` (created on first use, dies with the connection pool).
cpython::Ref make_connection(const cpython::Gil& gil, ModuleState* st, conn_rec* c,
                             cpython::Interpreter* interp);

// (ip, port) of an address, or None.
cpython::Ref address_tuple(const apr_sockaddr_t* addr);

conn_rec* live_connection(PyObject* self) noexcept;

}  // namespace mp::python
