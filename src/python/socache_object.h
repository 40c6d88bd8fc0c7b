// `_apache._socache_*`: the session cache configured with PythonSessionCache, seen from Python
// (store/retrieve/remove release the GIL: memcache and redis do network I/O).
#pragma once

#include <Python.h>

namespace mp::python {

extern PyMethodDef g_socache_functions[];

}  // namespace mp::python
