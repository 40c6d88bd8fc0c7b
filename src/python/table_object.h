// mp_table: a dict-like, case-insensitive, multi-valued view of an apr_table_t (spec §10.2).
#pragma once

#include <Python.h>

#include "apache/apache.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

struct TableObject {
  PyObject_HEAD apr_table_t* table;
  apr_pool_t* own_pool;  // set for standalone tables (apache.table()), destroyed with them
  PyObject* owner;       // strong ref keeping `owner_dead` valid (e.g. the request object)
  const bool* owner_dead;
  bool header_values;  // response headers: CR/LF/NUL rejected in keys and values
};

// A live view of a table owned by Apache; dies when `*owner_dead` becomes true.
cpython::Ref make_table_view(const cpython::Gil& gil, ModuleState* st, apr_table_t* table,
                             PyObject* owner, const bool* owner_dead, bool header_values);

// A standalone table with its own pool.
cpython::Ref make_standalone_table(const cpython::Gil& gil, ModuleState* st);

// The table of a live table object, or nullptr with RuntimeError/TypeError set.
apr_table_t* live_table(PyObject* obj);

}  // namespace mp::python
