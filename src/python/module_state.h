// Per-interpreter state of the built-in `_apache` module: our heap types and exceptions.
#pragma once

#include <Python.h>

namespace mp::python {

struct ModuleState {
  PyTypeObject* table_type;
  PyTypeObject* request_type;
  PyTypeObject* connection_type;
  PyTypeObject* server_type;
  PyTypeObject* finfo_type;
  PyTypeObject* hlist_type;
  PyTypeObject* filter_type;
  PyObject* server_return;  // apache.SERVER_RETURN
};

extern PyModuleDef g_apache_module_def;

// The state of the `_apache` module that defined `type` (for method thunks and slots).
ModuleState* state_of_type(PyTypeObject* type) noexcept;
inline ModuleState* state_of(PyObject* self) noexcept { return state_of_type(Py_TYPE(self)); }
ModuleState* state_of_module(PyObject* module) noexcept;

// Init function registered with PyImport_AppendInittab (multi-phase, per interpreter).
PyObject* init_apache_module() noexcept;

// Type specs, created per interpreter in the module's exec slot.
extern PyType_Spec g_table_spec;
extern PyType_Spec g_request_spec;
extern PyType_Spec g_connection_spec;
extern PyType_Spec g_server_spec;
extern PyType_Spec g_finfo_spec;
extern PyType_Spec g_hlist_spec;
extern PyType_Spec g_filter_spec;

}  // namespace mp::python
