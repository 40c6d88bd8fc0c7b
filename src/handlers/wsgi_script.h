// WSGI scripts per interpreter: loaded as module "_mod_wsgi_<md5 of path>", reloaded when the
// file's modification time changes (spec mod_wsgi-compat §6).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "apache/apache.h"
#include "cpython/interpreter_registry.h"
#include "cpython/ref.h"
#include "wsgi/objects.h"

namespace mp::handlers {

struct WsgiScript {
  cpython::Ref module;
  apr_time_t mtime = 0;
};

// What WSGI hosting keeps per interpreter (created on first use, never freed).
struct WsgiInterpreterData {
  wsgi::Types types;
  std::unordered_map<std::string, WsgiScript> scripts;
  std::mutex load_mutex;          // serialises loading (taken without the GIL)
  std::string application_group;  // the group that first served WSGI here (for log lines)
};

// The WSGI state of `interp` (attached, GIL held); null with a Python exception set when it
// cannot be created. Applies WSGIPythonPath the first time.
WsgiInterpreterData* wsgi_data(const cpython::Gil& gil, cpython::Interpreter& interp,
                               const std::string& application_group);

// The module of `path`, loading or reloading it as needed (`mtime` 0: do not check;
// `force_reload`: load it again even if unchanged; `*loaded` says whether this call loaded
// it). Null with a Python exception set when loading failed.
PyObject* wsgi_script_module(const cpython::Gil& gil, WsgiInterpreterData& data, const char* path,
                             apr_time_t mtime, bool reload_on_change, bool force_reload = false,
                             bool* loaded = nullptr);

}  // namespace mp::handlers
