// mp_finfo implementation: all 13 legacy indexes work, FINFO_FILETYPE included.
#include "python/finfo_object.h"

#include "cpython/guard.h"
#include "cpython/strings.h"

namespace mp::python {

using cpython::Ref;

namespace {

FinfoObject* as_finfo(PyObject* o) { return reinterpret_cast<FinfoObject*>(o); }

bool has(const apr_finfo_t& f, apr_int32_t bit) { return (f.valid & bit) != 0; }

double seconds(apr_time_t t) {
  return static_cast<double>(t) / static_cast<double>(APR_USEC_PER_SEC);
}

// Field values in the legacy tuple order (apache.FINFO_*).
PyObject* field(PyObject* self, int index) {
  const apr_finfo_t& f = as_finfo(self)->finfo;
  switch (index) {
    case 0:
      return has(f, APR_FINFO_PROT) ? PyLong_FromLong(f.protection) : Py_NewRef(Py_None);
    case 1:
      return has(f, APR_FINFO_INODE) ? PyLong_FromUnsignedLongLong(f.inode) : Py_NewRef(Py_None);
    case 2:
      return has(f, APR_FINFO_DEV) ? PyLong_FromUnsignedLongLong(f.device) : Py_NewRef(Py_None);
    case 3:
      return has(f, APR_FINFO_NLINK) ? PyLong_FromLong(f.nlink) : Py_NewRef(Py_None);
    case 4:
      return has(f, APR_FINFO_USER) ? PyLong_FromLong(static_cast<long>(f.user))
                                    : Py_NewRef(Py_None);
    case 5:
      return has(f, APR_FINFO_GROUP) ? PyLong_FromLong(static_cast<long>(f.group))
                                     : Py_NewRef(Py_None);
    case 6:
      return has(f, APR_FINFO_SIZE) ? PyLong_FromLongLong(f.size) : Py_NewRef(Py_None);
    case 7:
      return has(f, APR_FINFO_ATIME) ? PyFloat_FromDouble(seconds(f.atime)) : Py_NewRef(Py_None);
    case 8:
      return has(f, APR_FINFO_MTIME) ? PyFloat_FromDouble(seconds(f.mtime)) : Py_NewRef(Py_None);
    case 9:
      return has(f, APR_FINFO_CTIME) ? PyFloat_FromDouble(seconds(f.ctime)) : Py_NewRef(Py_None);
    case 10:
      return Py_NewRef(as_finfo(self)->fname);
    case 11:
      return Py_NewRef(as_finfo(self)->name);
    case 12:
      return PyLong_FromLong(static_cast<long>(f.filetype));
    default:
      PyErr_SetString(PyExc_IndexError, "mp_finfo index out of range");
      return nullptr;
  }
}

Py_ssize_t finfo_len(PyObject*) { return 13; }
PyObject* finfo_item(PyObject* self, Py_ssize_t i) { return field(self, static_cast<int>(i)); }

PyObject* get_index(PyObject* self, void* closure) {
  return field(self, static_cast<int>(*static_cast<const int*>(closure)));
}
PyObject* get_valid(PyObject* self, void*) { return PyLong_FromLong(as_finfo(self)->finfo.valid); }

const int kIdx[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
#define IDX(n) const_cast<int*>(&kIdx[n])

PyGetSetDef g_getsets[] = {
    {"protection", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(0)},
    {"inode", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(1)},
    {"device", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(2)},
    {"nlink", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(3)},
    {"user", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(4)},
    {"group", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(5)},
    {"size", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(6)},
    {"atime", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(7)},
    {"mtime", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(8)},
    {"ctime", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(9)},
    {"fname", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(10)},
    {"name", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(11)},
    {"filetype", cpython::Guard<get_index>::call, nullptr, nullptr, IDX(12)},
    {"valid", cpython::Guard<get_valid>::call, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};
#undef IDX

PyObject* finfo_repr(PyObject* self) {
  return PyUnicode_FromFormat("<mp_finfo %R>", as_finfo(self)->fname);
}

void finfo_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  Py_CLEAR(as_finfo(self)->fname);
  Py_CLEAR(as_finfo(self)->name);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<finfo_dealloc>::call)},
    {Py_tp_repr, reinterpret_cast<void*>(cpython::Guard<finfo_repr>::call)},
    {Py_tp_getset, g_getsets},
    {Py_sq_length, reinterpret_cast<void*>(cpython::Guard<finfo_len>::call)},
    {Py_sq_item, reinterpret_cast<void*>(cpython::Guard<finfo_item>::call)},
    {0, nullptr},
};

}  // namespace

PyType_Spec g_finfo_spec = {"mp_finfo", sizeof(FinfoObject), 0, Py_TPFLAGS_DEFAULT, g_slots};

Ref make_finfo(const cpython::Gil& gil, ModuleState* st, const apr_finfo_t& finfo) {
  auto* obj = PyObject_New(FinfoObject, st->finfo_type);
  if (obj == nullptr) return {};
  obj->finfo = finfo;
  obj->finfo.fname = nullptr;
  obj->finfo.name = nullptr;
  obj->fname = cpython::str_or_none(gil, finfo.fname).release();
  obj->name =
      cpython::str_or_none(gil, has(finfo, APR_FINFO_NAME) ? finfo.name : nullptr).release();
  if (obj->fname == nullptr || obj->name == nullptr) {
    Py_DECREF(obj);
    return {};
  }
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

bool is_finfo(ModuleState* st, PyObject* obj) noexcept {
  return PyObject_TypeCheck(obj, st->finfo_type) != 0;
}

}  // namespace mp::python
