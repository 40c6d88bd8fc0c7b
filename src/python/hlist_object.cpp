// mp_hlist implementation: read-only view of one handler entry; next() moves past it.
#include "python/hlist_object.h"

#include "cpython/guard.h"
#include "cpython/strings.h"

namespace mp::python {

using cpython::Ref;

namespace {

struct HlistObject {
  PyObject_HEAD PyObject* handler;  // str or None once exhausted
  PyObject* directory;
  int silent;
  int is_location;
};

HlistObject* as_hlist(PyObject* o) { return reinterpret_cast<HlistObject*>(o); }

PyObject* get_handler(PyObject* self, void*) { return Py_NewRef(as_hlist(self)->handler); }
PyObject* get_directory(PyObject* self, void*) { return Py_NewRef(as_hlist(self)->directory); }
PyObject* get_silent(PyObject* self, void*) { return PyLong_FromLong(as_hlist(self)->silent); }
PyObject* get_is_location(PyObject* self, void*) {
  return PyLong_FromLong(as_hlist(self)->is_location);
}

PyObject* m_next(PyObject* self, PyObject*) {
  Py_XSETREF(as_hlist(self)->handler, Py_NewRef(Py_None));
  Py_RETURN_NONE;
}

void hlist_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  Py_CLEAR(as_hlist(self)->handler);
  Py_CLEAR(as_hlist(self)->directory);
  type->tp_free(self);
  Py_DECREF(type);
}

PyGetSetDef g_getsets[] = {
    {"handler", cpython::Guard<get_handler>::call, nullptr, "Current handler string", nullptr},
    {"directory", cpython::Guard<get_directory>::call, nullptr, "Directory of the directive",
     nullptr},
    {"silent", cpython::Guard<get_silent>::call, nullptr, "Registered by PythonHandlerModule",
     nullptr},
    {"is_location", cpython::Guard<get_is_location>::call, nullptr, "Written in <Location>",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef g_methods[] = {
    {"next", cpython::Guard<m_next>::call, METH_NOARGS, "Advance past the current entry."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<hlist_dealloc>::call)},
    {Py_tp_getset, g_getsets},
    {Py_tp_methods, g_methods},
    {0, nullptr},
};

}  // namespace

PyType_Spec g_hlist_spec = {"mp_hlist", sizeof(HlistObject), 0, Py_TPFLAGS_DEFAULT, g_slots};

Ref make_hlist(const cpython::Gil& gil, ModuleState* st, const apache::HandlerEntry* entry) {
  auto* obj = PyObject_New(HlistObject, st->hlist_type);
  if (obj == nullptr) return {};
  obj->handler = cpython::str_or_none(gil, entry ? entry->handler : nullptr).release();
  obj->directory = cpython::str_or_none(gil, entry ? entry->directory : nullptr).release();
  obj->silent = entry != nullptr && entry->silent ? 1 : 0;
  obj->is_location = entry != nullptr && entry->is_location ? 1 : 0;
  Ref result = Ref::steal(reinterpret_cast<PyObject*>(obj));
  if (obj->handler == nullptr || obj->directory == nullptr) return {};
  return result;
}

}  // namespace mp::python
