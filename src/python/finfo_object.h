// mp_finfo: file information (apr_finfo_t) with attribute and legacy index access (§10.6).
#pragma once

#include <Python.h>

#include "apache/apache.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

struct FinfoObject {
  PyObject_HEAD apr_finfo_t finfo;
  PyObject* fname;  // str or None (finfo.fname points nowhere once copied)
  PyObject* name;
};

cpython::Ref make_finfo(const cpython::Gil& gil, ModuleState* st, const apr_finfo_t& finfo);
bool is_finfo(ModuleState* st, PyObject* obj) noexcept;

}  // namespace mp::python
