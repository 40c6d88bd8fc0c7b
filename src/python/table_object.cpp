// mp_table implementation: mapping protocol, dict-style methods and comparisons.
#include "python/table_object.h"

#include <strings.h>

#include <string>
#include <utility>
#include <vector>

#include "cpython/guard.h"
#include "cpython/strings.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

TableObject* as_table(PyObject* self) { return reinterpret_cast<TableObject*>(self); }

apr_table_t* checked(PyObject* self) {
  TableObject* t = as_table(self);
  if (t->owner_dead != nullptr && *t->owner_dead) {
    PyErr_SetString(PyExc_RuntimeError,
                    "table used after the request or connection it belongs to has ended");
    return nullptr;
  }
  return t->table;
}

const apr_table_entry_t* entries(apr_table_t* t, int* count) {
  const apr_array_header_t* arr = apr_table_elts(t);
  *count = arr->nelts;
  return reinterpret_cast<const apr_table_entry_t*>(arr->elts);
}

Ref to_py(const char* s) {
  GilAssumed g;
  return cpython::str_or_none(g.gil(), s);
}

bool key_text(PyObject* self, PyObject* key, std::string* out) {
  GilAssumed g;
  if (!cpython::apache_string(g.gil(), key, out, "table key")) return false;
  if (as_table(self)->header_values && out->find_first_of("\r\n:") != std::string::npos) {
    PyErr_SetString(PyExc_ValueError, "header name must not contain CR, LF or ':'");
    return false;
  }
  return true;
}

bool value_text(PyObject* self, PyObject* value, std::string* out) {
  GilAssumed g;
  if (!cpython::apache_string(g.gil(), value, out, "table value")) return false;
  return !as_table(self)->header_values || cpython::no_line_breaks(*out, "header value");
}

// Values of `key`: nullptr with KeyError unset when absent.
Ref lookup(apr_table_t* t, const char* key, bool want_list_if_many) {
  int n = 0;
  const apr_table_entry_t* e = entries(t, &n);
  Ref first;
  Ref list;
  for (int i = 0; i < n; ++i) {
    if (e[i].key == nullptr || strcasecmp(e[i].key, key) != 0) continue;
    Ref value = to_py(e[i].val);
    if (!value) return {};
    if (!first) {
      first = value;
      if (!want_list_if_many) return first;
    } else {
      if (!list) {
        list = Ref::steal(PyList_New(0));
        if (!list || PyList_Append(list.get(), first.get()) < 0) return {};
      }
      if (PyList_Append(list.get(), value.get()) < 0) return {};
    }
  }
  return list ? list : first;
}

Py_ssize_t table_len(PyObject* self) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return -1;
  return apr_table_elts(t)->nelts;
}

PyObject* table_subscript(PyObject* self, PyObject* key) {
  apr_table_t* t = checked(self);
  std::string k;
  if (t == nullptr || !key_text(self, key, &k)) return nullptr;
  Ref found = lookup(t, k.c_str(), true);
  if (!found && !PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
  return found.release();
}

int table_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
  apr_table_t* t = checked(self);
  std::string k;
  if (t == nullptr || !key_text(self, key, &k)) return -1;
  if (value == nullptr) {
    // A missing key is not an error, as in 3.5: output filters routinely drop a
    // Content-Length that may not be there.
    apr_table_unset(t, k.c_str());
    return 0;
  }
  std::string v;
  if (!value_text(self, value, &v)) return -1;
  apr_table_set(t, k.c_str(), v.c_str());
  return 0;
}

int table_contains(PyObject* self, PyObject* key) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return -1;
  std::string k;
  GilAssumed g;
  if (!cpython::apache_string(g.gil(), key, &k, "table key")) {
    PyErr_Clear();
    return 0;
  }
  return apr_table_get(t, k.c_str()) != nullptr ? 1 : 0;
}

enum class Part { kKeys, kValues, kItems };

PyObject* collect(PyObject* self, Part part) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return nullptr;
  int n = 0;
  const apr_table_entry_t* e = entries(t, &n);
  Ref list = Ref::steal(PyList_New(0));
  if (!list) return nullptr;
  for (int i = 0; i < n; ++i) {
    if (e[i].key == nullptr) continue;
    Ref item;
    if (part == Part::kKeys) {
      item = to_py(e[i].key);
    } else if (part == Part::kValues) {
      item = to_py(e[i].val);
    } else {
      Ref k = to_py(e[i].key);
      Ref v = to_py(e[i].val);
      if (k && v) item = Ref::steal(PyTuple_Pack(2, k.get(), v.get()));
    }
    if (!item || PyList_Append(list.get(), item.get()) < 0) return nullptr;
  }
  return list.release();
}

PyObject* m_keys(PyObject* self, PyObject*) { return collect(self, Part::kKeys); }
PyObject* m_values(PyObject* self, PyObject*) { return collect(self, Part::kValues); }
PyObject* m_items(PyObject* self, PyObject*) { return collect(self, Part::kItems); }

PyObject* iterate(PyObject* self, Part part) {
  Ref list = Ref::steal(collect(self, part));
  if (!list) return nullptr;
  return PyObject_GetIter(list.get());
}
PyObject* table_iter(PyObject* self) { return iterate(self, Part::kKeys); }
PyObject* m_iterkeys(PyObject* self, PyObject*) { return iterate(self, Part::kKeys); }
PyObject* m_itervalues(PyObject* self, PyObject*) { return iterate(self, Part::kValues); }
PyObject* m_iteritems(PyObject* self, PyObject*) { return iterate(self, Part::kItems); }

PyObject* m_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "get() takes 1 or 2 arguments");
    return nullptr;
  }
  apr_table_t* t = checked(self);
  std::string k;
  if (t == nullptr || !key_text(self, args[0], &k)) return nullptr;
  Ref found = lookup(t, k.c_str(), false);
  if (found) return found.release();
  if (PyErr_Occurred()) return nullptr;
  PyObject* fallback = nargs == 2 ? args[1] : Py_None;
  return Py_NewRef(fallback);
}

PyObject* m_add(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "add() takes exactly 2 arguments");
    return nullptr;
  }
  apr_table_t* t = checked(self);
  std::string k;
  std::string v;
  if (t == nullptr || !key_text(self, args[0], &k) || !value_text(self, args[1], &v)) {
    return nullptr;
  }
  apr_table_add(t, k.c_str(), v.c_str());
  Py_RETURN_NONE;
}

PyObject* m_setdefault(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    PyErr_SetString(PyExc_TypeError, "setdefault() takes 1 or 2 arguments");
    return nullptr;
  }
  apr_table_t* t = checked(self);
  std::string k;
  if (t == nullptr || !key_text(self, args[0], &k)) return nullptr;
  Ref found = lookup(t, k.c_str(), false);
  if (found) return found.release();
  if (PyErr_Occurred()) return nullptr;
  PyObject* value = nargs == 2 ? args[1] : nullptr;
  Ref empty;
  if (value == nullptr) {
    empty = Ref::steal(PyUnicode_FromString(""));
    value = empty.get();
  }
  std::string v;
  if (!value_text(self, value, &v)) return nullptr;
  apr_table_set(t, k.c_str(), v.c_str());
  return Py_NewRef(value);
}

PyObject* m_has_key(PyObject* self, PyObject* key) {
  int r = table_contains(self, key);
  if (r < 0) return nullptr;
  return PyBool_FromLong(r);
}

PyObject* m_clear(PyObject* self, PyObject*) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return nullptr;
  apr_table_clear(t);
  Py_RETURN_NONE;
}

PyObject* m_popitem(PyObject* self, PyObject*) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return nullptr;
  int n = 0;
  const apr_table_entry_t* e = entries(t, &n);
  for (int i = n - 1; i >= 0; --i) {
    if (e[i].key == nullptr) continue;
    Ref k = to_py(e[i].key);
    Ref v = to_py(e[i].val);
    if (!k || !v) return nullptr;
    // Only this entry goes: the key's other values stay (APR can only drop them all, so they
    // are added back, in their order).
    std::string key(e[i].key);
    std::vector<std::string> others;
    for (int j = 0; j < i; ++j) {
      if (e[j].key != nullptr && strcasecmp(e[j].key, key.c_str()) == 0) {
        others.emplace_back(e[j].val != nullptr ? e[j].val : "");
      }
    }
    apr_table_unset(t, key.c_str());
    for (const auto& value : others) apr_table_add(t, key.c_str(), value.c_str());
    return PyTuple_Pack(2, k.get(), v.get());
  }
  PyErr_SetString(PyExc_KeyError, "popitem(): table is empty");
  return nullptr;
}

// A key or value given to update() or the constructor: str and bytes as they are, anything
// else through str(), as 3.5 did (`apache.table({1: 1})` is a table of "1": "1").
Ref stringified(PyObject* obj) {
  if (PyUnicode_Check(obj) || PyBytes_Check(obj)) return Ref::borrow(obj);
  return Ref::steal(PyObject_Str(obj));
}

bool put_pair(PyObject* self, PyObject* key, PyObject* value, bool replace) {
  Ref key_str = stringified(key);
  Ref value_str = key_str ? stringified(value) : Ref{};
  if (!value_str) return false;
  std::string k;
  std::string v;
  if (!key_text(self, key_str.get(), &k) || !value_text(self, value_str.get(), &v)) return false;
  apr_table_t* t = checked(self);
  if (t == nullptr) return false;
  if (replace) {
    apr_table_set(t, k.c_str(), v.c_str());
  } else {
    apr_table_add(t, k.c_str(), v.c_str());
  }
  return true;
}

// A mapping, read as dict.update() reads one: through keys() and [], so dict subclasses and
// classes that only define those two work, and errors they raise propagate.
bool merge_mapping(PyObject* self, PyObject* source, bool replace) {
  Ref keys = Ref::steal(PyObject_CallMethod(source, "keys", nullptr));
  Ref iter = keys ? Ref::steal(PyObject_GetIter(keys.get())) : Ref{};
  if (!iter) return false;
  while (Ref key = Ref::steal(PyIter_Next(iter.get()))) {
    Ref value = Ref::steal(PyObject_GetItem(source, key.get()));
    if (!value || !put_pair(self, key.get(), value.get(), replace)) return false;
  }
  return !PyErr_Occurred();
}

bool merge_pairs(PyObject* self, PyObject* source, bool replace) {
  Ref iter = Ref::steal(PyObject_GetIter(source));
  if (!iter) {
    // 3.5 looked up keys() on whatever it was given: update(None) is an AttributeError.
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
      PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute 'keys'",
                   Py_TYPE(source)->tp_name);
    }
    return false;
  }
  while (Ref pair = Ref::steal(PyIter_Next(iter.get()))) {
    Ref seq = Ref::steal(PySequence_Tuple(pair.get()));
    if (!seq || PyTuple_GET_SIZE(seq.get()) != 2) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "table items must be pairs");
      return false;
    }
    if (!put_pair(self, PyTuple_GET_ITEM(seq.get(), 0), PyTuple_GET_ITEM(seq.get(), 1), replace)) {
      return false;
    }
  }
  return !PyErr_Occurred();
}

// Another mp_table: its entries as they are, duplicates included (Set-Cookie...); with
// `replace`, the keys it has are dropped from this table first.
bool merge_table(PyObject* self, apr_table_t* source, bool replace) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return false;
  int n = 0;
  const apr_table_entry_t* e = entries(source, &n);
  std::vector<std::pair<std::string, std::string>> copied;  // `source` may be `t` itself
  copied.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    if (e[i].key != nullptr) copied.emplace_back(e[i].key, e[i].val != nullptr ? e[i].val : "");
  }
  if (replace) {
    for (const auto& [key, value] : copied) apr_table_unset(t, key.c_str());
  }
  for (const auto& [key, value] : copied) apr_table_add(t, key.c_str(), value.c_str());
  return true;
}

// Adds every entry of a mapping or a sequence of pairs; `replace` sets instead of adding.
bool merge_from(PyObject* self, PyObject* source, bool replace) {
  if (checked(self) == nullptr) return false;
  ModuleState* st = state_of(self);
  if (st != nullptr && PyObject_TypeCheck(source, st->table_type)) {
    apr_table_t* other = checked(source);
    return other != nullptr && merge_table(self, other, replace);
  }
  if (PyDict_Check(source)) {
    Ref items = Ref::steal(PyDict_Items(source));  // a snapshot: str() may run Python code
    return items && merge_pairs(self, items.get(), replace);
  }
  int has_keys = PyObject_HasAttrString(source, "keys");
  return has_keys ? merge_mapping(self, source, replace) : merge_pairs(self, source, replace);
}

PyObject* m_update(PyObject* self, PyObject* source) {
  if (!merge_from(self, source, true)) return nullptr;
  Py_RETURN_NONE;
}

PyObject* m_copy(PyObject* self, PyObject*) {
  apr_table_t* t = checked(self);
  if (t == nullptr) return nullptr;
  GilAssumed g;
  Ref copy = make_standalone_table(g.gil(), state_of(self));
  if (!copy) return nullptr;
  TableObject* c = as_table(copy.get());
  c->table = apr_table_copy(c->own_pool, t);
  return copy.release();
}

// The table as 3.5 compared it: keys as written (the first spelling of a key that occurs
// again in another case), one value as a str, several as a list, like t[k].
PyObject* as_dict(PyObject* self) {
  Ref items = Ref::steal(collect(self, Part::kItems));
  if (!items) return nullptr;
  Ref dict = Ref::steal(PyDict_New());
  Ref spelling = Ref::steal(PyDict_New());  // lower-case key -> first spelling
  if (!dict || !spelling) return nullptr;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i) {
    PyObject* pair = PyList_GET_ITEM(items.get(), i);
    PyObject* key = PyTuple_GET_ITEM(pair, 0);
    PyObject* value = PyTuple_GET_ITEM(pair, 1);
    Ref lowered = Ref::steal(PyObject_CallMethod(key, "lower", nullptr));
    if (!lowered) return nullptr;
    PyObject* first = PyDict_SetDefault(spelling.get(), lowered.get(), key);  // borrowed
    if (first == nullptr) return nullptr;
    PyObject* seen = PyDict_GetItemWithError(dict.get(), first);  // borrowed
    if (seen == nullptr) {
      if (PyErr_Occurred() || PyDict_SetItem(dict.get(), first, value) < 0) return nullptr;
    } else if (PyList_Check(seen)) {
      if (PyList_Append(seen, value) < 0) return nullptr;
    } else {
      Ref both = Ref::steal(PyList_New(2));
      if (!both) return nullptr;
      PyList_SET_ITEM(both.get(), 0, Py_NewRef(seen));
      PyList_SET_ITEM(both.get(), 1, Py_NewRef(value));
      if (PyDict_SetItem(dict.get(), first, both.get()) < 0) return nullptr;
    }
  }
  return dict.release();
}

PyObject* table_richcompare(PyObject* self, PyObject* other, int op) {
  if (op != Py_EQ && op != Py_NE) Py_RETURN_NOTIMPLEMENTED;
  Ref mine = Ref::steal(as_dict(self));
  if (!mine) return nullptr;
  Ref theirs;
  if (PyObject_TypeCheck(other, Py_TYPE(self))) {
    theirs = Ref::steal(as_dict(other));
  } else if (PyDict_Check(other)) {
    theirs = Ref::borrow(other);
  } else {
    Py_RETURN_NOTIMPLEMENTED;
  }
  if (!theirs) return nullptr;
  return PyObject_RichCompare(mine.get(), theirs.get(), op);
}

// Dict syntax as in 3.5 (`{}` for an empty table), entries in table order, duplicates kept.
PyObject* table_repr(PyObject* self) {
  Ref items = Ref::steal(collect(self, Part::kItems));
  if (!items) return nullptr;
  Ref parts = Ref::steal(PyList_New(0));
  if (!parts) return nullptr;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items.get()); ++i) {
    PyObject* pair = PyList_GET_ITEM(items.get(), i);
    Ref part = Ref::steal(
        PyUnicode_FromFormat("%R: %R", PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)));
    if (!part || PyList_Append(parts.get(), part.get()) < 0) return nullptr;
  }
  Ref separator = Ref::steal(PyUnicode_FromString(", "));
  Ref body = separator ? Ref::steal(PyUnicode_Join(separator.get(), parts.get())) : Ref{};
  if (!body) return nullptr;
  return PyUnicode_FromFormat("{%U}", body.get());
}

// A table with a pool of its own, of `type` (mp_table or a Python subclass of it).
// tp_alloc zeroes the object (a subclass's __dict__ slot included) and tracks it for the GC.
Ref new_standalone(PyTypeObject* type) {
  apr_pool_t* pool = nullptr;
  if (apr_pool_create(&pool, nullptr) != APR_SUCCESS) {
    PyErr_NoMemory();
    return {};
  }
  PyObject* obj = type->tp_alloc(type, 0);
  if (obj == nullptr) {
    apr_pool_destroy(pool);
    return {};
  }
  TableObject* t = as_table(obj);
  t->table = apr_table_make(pool, 8);
  t->own_pool = pool;
  return Ref::steal(obj);
}

PyObject* table_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  PyObject* source = nullptr;
  if (!PyArg_ParseTuple(args, "|O:table", &source)) return nullptr;
  Ref table = new_standalone(type);
  if (!table) return nullptr;
  // Pairs set, as dict() and 3.5 do (the last of a repeated key wins); a table source keeps
  // its duplicates.
  if (source != nullptr && !merge_from(table.get(), source, true)) return nullptr;
  if (kwargs != nullptr && !merge_from(table.get(), kwargs, true)) return nullptr;
  return table.release();
}

void table_dealloc(PyObject* self) {
  TableObject* t = as_table(self);
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_CLEAR(t->owner);
  if (t->own_pool != nullptr) apr_pool_destroy(t->own_pool);
  type->tp_free(self);
  Py_DECREF(type);
}

int table_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(as_table(self)->owner);
  return 0;
}

PyMethodDef g_methods[] = {
    {"keys", cpython::Guard<m_keys>::call, METH_NOARGS, "List of keys (duplicates included)."},
    {"values", cpython::Guard<m_values>::call, METH_NOARGS, "List of values."},
    {"items", cpython::Guard<m_items>::call, METH_NOARGS, "List of (key, value) pairs."},
    {"iterkeys", cpython::Guard<m_iterkeys>::call, METH_NOARGS, nullptr},
    {"itervalues", cpython::Guard<m_itervalues>::call, METH_NOARGS, nullptr},
    {"iteritems", cpython::Guard<m_iteritems>::call, METH_NOARGS, nullptr},
    {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(m_get)), METH_FASTCALL,
     "First value of key, or default."},
    {"add", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(m_add)), METH_FASTCALL,
     "Append a value (keeps existing ones)."},
    {"setdefault", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(m_setdefault)),
     METH_FASTCALL, nullptr},
    {"has_key", cpython::Guard<m_has_key>::call, METH_O, nullptr},
    {"clear", cpython::Guard<m_clear>::call, METH_NOARGS, nullptr},
    {"popitem", cpython::Guard<m_popitem>::call, METH_NOARGS, nullptr},
    {"update", cpython::Guard<m_update>::call, METH_O, nullptr},
    {"copy", cpython::Guard<m_copy>::call, METH_NOARGS, "A standalone copy."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot g_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(cpython::Guard<table_new>::call)},
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<table_dealloc>::call)},
    {Py_tp_traverse, reinterpret_cast<void*>(cpython::Guard<table_traverse>::call)},
    {Py_tp_iter, reinterpret_cast<void*>(cpython::Guard<table_iter>::call)},
    {Py_tp_richcompare, reinterpret_cast<void*>(cpython::Guard<table_richcompare>::call)},
    {Py_tp_repr, reinterpret_cast<void*>(cpython::Guard<table_repr>::call)},
    {Py_tp_hash, reinterpret_cast<void*>(PyObject_HashNotImplemented)},
    {Py_tp_methods, g_methods},
    {Py_mp_length, reinterpret_cast<void*>(cpython::Guard<table_len>::call)},
    {Py_mp_subscript, reinterpret_cast<void*>(cpython::Guard<table_subscript>::call)},
    {Py_mp_ass_subscript, reinterpret_cast<void*>(cpython::Guard<table_ass_subscript>::call)},
    {Py_sq_contains, reinterpret_cast<void*>(cpython::Guard<table_contains>::call)},
    {0, nullptr},
};

}  // namespace

// Subclassable, as apache.table was in 3.5.
PyType_Spec g_table_spec = {"mp_table", sizeof(TableObject), 0,
                            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, g_slots};

Ref make_table_view(const cpython::Gil& /*gil*/, ModuleState* st, apr_table_t* table,
                    PyObject* owner, const bool* owner_dead, bool header_values) {
  auto* obj = PyObject_GC_New(TableObject, st->table_type);
  if (obj == nullptr) return {};
  obj->table = table;
  obj->own_pool = nullptr;
  obj->owner = Py_XNewRef(owner);
  obj->owner_dead = owner_dead;
  obj->header_values = header_values;
  PyObject_GC_Track(obj);
  return Ref::steal(reinterpret_cast<PyObject*>(obj));
}

Ref make_standalone_table(const cpython::Gil& /*gil*/, ModuleState* st) {
  return new_standalone(st->table_type);
}

apr_table_t* live_table(PyObject* obj) {
  ModuleState* st = state_of(obj);
  if (st == nullptr || !PyObject_TypeCheck(obj, st->table_type)) {
    PyErr_Clear();
    PyErr_SetString(PyExc_TypeError, "an mp_table is required");
    return nullptr;
  }
  return checked(obj);
}

}  // namespace mp::python
