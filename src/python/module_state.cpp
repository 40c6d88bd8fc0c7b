// Creation of the `_apache` module state (heap types, exceptions) for each interpreter.
#include "python/module_state.h"

#include "cpython/ref.h"
#include "python/psp_functions.h"

namespace mp::python {

ModuleState* state_of_module(PyObject* module) noexcept {
  return static_cast<ModuleState*>(PyModule_GetState(module));
}

ModuleState* state_of_type(PyTypeObject* type) noexcept {
  PyObject* module = PyType_GetModuleByDef(type, &g_apache_module_def);
  if (module == nullptr) return nullptr;
  return state_of_module(module);
}

namespace {

bool add_type(PyObject* module, PyType_Spec* spec, PyTypeObject** slot) {
  PyObject* type = PyType_FromModuleAndSpec(module, spec, nullptr);
  if (type == nullptr) return false;
  *slot = reinterpret_cast<PyTypeObject*>(type);
  // A spec name without a dot leaves __module__ unset, so type(t).__module__ would raise;
  // 3.5's static types said "builtins" (which also keeps repr() as "<class 'mp_table'>").
  cpython::Ref builtins = cpython::Ref::steal(PyUnicode_FromString("builtins"));
  if (!builtins || PyObject_SetAttrString(type, "__module__", builtins.get()) != 0) return false;
  return PyModule_AddType(module, *slot) == 0;
}

// Py_VISIT expands to branches; the function is a flat list of them.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
int traverse(PyObject* module, visitproc visit, void* arg) {
  ModuleState* st = state_of_module(module);
  if (st == nullptr) return 0;
  Py_VISIT(st->table_type);
  Py_VISIT(st->request_type);
  Py_VISIT(st->connection_type);
  Py_VISIT(st->server_type);
  Py_VISIT(st->finfo_type);
  Py_VISIT(st->hlist_type);
  Py_VISIT(st->filter_type);
  Py_VISIT(st->server_return);
  return 0;
}

int clear(PyObject* module) {
  ModuleState* st = state_of_module(module);
  if (st == nullptr) return 0;
  Py_CLEAR(st->table_type);
  Py_CLEAR(st->request_type);
  Py_CLEAR(st->connection_type);
  Py_CLEAR(st->server_type);
  Py_CLEAR(st->finfo_type);
  Py_CLEAR(st->hlist_type);
  Py_CLEAR(st->filter_type);
  Py_CLEAR(st->server_return);
  return 0;
}

}  // namespace

// Defined in apache_module.cpp.
int add_module_functions_and_constants(PyObject* module) noexcept;

namespace {

int exec_module(PyObject* module) noexcept {
  ModuleState* st = state_of_module(module);
  if (!add_type(module, &g_table_spec, &st->table_type) ||
      !add_type(module, &g_request_spec, &st->request_type) ||
      !add_type(module, &g_connection_spec, &st->connection_type) ||
      !add_type(module, &g_server_spec, &st->server_type) ||
      !add_type(module, &g_finfo_spec, &st->finfo_type) ||
      !add_type(module, &g_hlist_spec, &st->hlist_type) ||
      !add_type(module, &g_filter_spec, &st->filter_type)) {
    return -1;
  }
  // apache.table is the type itself (3.5 code subclasses it); make_table stays a function.
  if (PyModule_AddObjectRef(module, "table", reinterpret_cast<PyObject*>(st->table_type)) < 0) {
    return -1;
  }
  st->server_return = PyErr_NewExceptionWithDoc(
      "_apache.SERVER_RETURN",
      "Raise with an Apache result code (and optionally a status) to end a handler.",
      PyExc_Exception, nullptr);
  if (st->server_return == nullptr) return -1;
  if (PyModule_AddObjectRef(module, "SERVER_RETURN", st->server_return) < 0) return -1;
  if (add_psp_functions(module) < 0) return -1;
  return add_module_functions_and_constants(module);
}

PyModuleDef_Slot g_slots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(&exec_module)},
    {0, nullptr},
};

}  // namespace

extern PyMethodDef g_apache_functions[];

PyModuleDef g_apache_module_def = {
    PyModuleDef_HEAD_INIT,
    "_apache",
    "Apache httpd internals for mod_python (only importable inside httpd).",
    sizeof(ModuleState),
    g_apache_functions,
    g_slots,
    traverse,
    clear,
    nullptr,
};

PyObject* init_apache_module() noexcept { return PyModuleDef_Init(&g_apache_module_def); }

}  // namespace mp::python
