// The PSP code generator as functions of `_apache`: psp_parse(filename, dir=None) and
// psp_parsestring(text), used by mod_python.psp (spec §14).
#pragma once

#include <Python.h>

namespace mp::python {

// Adds psp_parse and psp_parsestring to the `_apache` module; -1 with an exception set on error.
int add_psp_functions(PyObject* module) noexcept;

}  // namespace mp::python
