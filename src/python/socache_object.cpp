// `_apache._socache_info/_store/_retrieve/_remove(server, ...)`: the session cache of a server
// (PythonSessionCache). Usable from every interpreter; the cache itself is process-wide.
#include "python/socache_object.h"

#include <apr_strings.h>

#include <memory>
#include <string>

#include "apache/socache_binding.h"
#include "cpython/guard.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"
#include "python/server_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

constexpr Py_ssize_t kMaxIdSize = 64;

apache::SessionCache* cache_of(PyObject* module, PyObject* server) {
  server_rec* s = server_of(state_of_module(module), server);
  if (s == nullptr) return nullptr;
  apache::SessionCache* cache = apache::session_cache_for(s);
  if (cache == nullptr) {
    PyErr_SetString(PyExc_RuntimeError,
                    "no session cache is configured for this server (PythonSessionCache)");
  }
  return cache;
}

std::string describe(const apache::SessionCache& cache) {
  std::string text = cache.provider_name;
  if (cache.args[0] != '\0') text += std::string(":") + cache.args;
  return text;
}

PyObject* raise_apr(const apache::SessionCache& cache, const char* what, apr_status_t rv) {
  if (rv == apache::kSessionCacheRefused) {
    PyErr_Format(PyExc_TimeoutError,
                 "session cache '%s': %s not tried: the cache missed a deadline and has not "
                 "answered since (MP0184)",
                 describe(cache).c_str(), what);
    return nullptr;
  }
  char reason[256];
  apr_strerror(rv, reason, sizeof(reason));
  PyErr_Format(APR_STATUS_IS_TIMEUP(rv) ? PyExc_TimeoutError : PyExc_OSError,
               "session cache '%s': %s failed: %s", describe(cache).c_str(), what, reason);
  return nullptr;
}

// A bytes id of 1..64 bytes, copied (the GIL is released while the provider uses it).
bool id_arg(PyObject* obj, std::string* out) {
  if (!PyBytes_Check(obj)) {
    PyErr_SetString(PyExc_TypeError, "session cache ids are bytes");
    return false;
  }
  Py_ssize_t size = PyBytes_GET_SIZE(obj);
  if (size < 1 || size > kMaxIdSize) {
    PyErr_Format(PyExc_ValueError, "session cache ids have 1 to %zd bytes", kMaxIdSize);
    return false;
  }
  out->assign(PyBytes_AS_STRING(obj), static_cast<std::size_t>(size));
  return true;
}

PyObject* f_socache_info(PyObject* module, PyObject* server) {
  server_rec* s = server_of(state_of_module(module), server);
  if (s == nullptr) return nullptr;
  apache::SessionCache* cache = apache::session_cache_for(s);
  if (cache == nullptr) Py_RETURN_NONE;
  Ref key;
  if (cache->shared) {
    key = Ref::borrow(Py_None);
  } else {
    // Made in the parent, so every process of this generation shares it; never for a store
    // other hosts can reach (those need a configured secret).
    key = Ref::steal(PyBytes_FromStringAndSize(reinterpret_cast<const char*>(cache->local_key),
                                               sizeof(cache->local_key)));
  }
  if (!key) return nullptr;
  return Py_BuildValue("{s:s,s:s,s:O,s:O,s:O,s:n}", "provider", cache->provider_name, "args",
                       cache->args, "shared", cache->shared ? Py_True : Py_False, "ready",
                       cache->ready ? Py_True : Py_False, "local_key", key.get(), "max_record",
                       static_cast<Py_ssize_t>(apache::kSessionCacheMaxRecord));
}

PyObject* f_socache_store(PyObject* module, PyObject* args) {
  PyObject* server = nullptr;
  PyObject* id_obj = nullptr;
  Py_buffer view{};
  long ttl = 0;
  if (!PyArg_ParseTuple(args, "OOy*l:_socache_store", &server, &id_obj, &view, &ttl)) {
    return nullptr;
  }
  std::string data(static_cast<const char*>(view.buf), static_cast<std::size_t>(view.len));
  PyBuffer_Release(&view);
  std::string id;
  apache::SessionCache* cache = cache_of(module, server);
  if (cache == nullptr || !id_arg(id_obj, &id)) return nullptr;
  if (data.size() > apache::kSessionCacheMaxRecord) {
    PyErr_Format(PyExc_ValueError, "a session cache record has at most %zu bytes (got %zu)",
                 apache::kSessionCacheMaxRecord, data.size());
    return nullptr;
  }
  if (ttl < 1) {
    PyErr_SetString(PyExc_ValueError, "the time to live is at least 1 second");
    return nullptr;
  }
  apr_status_t rv = APR_SUCCESS;
  GilAssumed g;
  {
    cpython::DetachScope io(g.gil());
    rv = apache::session_cache_store(*cache, id, data, ttl);
  }
  if (rv != APR_SUCCESS) return raise_apr(*cache, "store", rv);
  Py_RETURN_NONE;
}

PyObject* f_socache_retrieve(PyObject* module, PyObject* args) {
  PyObject* server = nullptr;
  PyObject* id_obj = nullptr;
  if (!PyArg_ParseTuple(args, "OO:_socache_retrieve", &server, &id_obj)) return nullptr;
  std::string id;
  apache::SessionCache* cache = cache_of(module, server);
  if (cache == nullptr || !id_arg(id_obj, &id)) return nullptr;
  // Shared: a call to a hung store may write to it after this request gave up on it.
  std::shared_ptr<unsigned char[]> buffer =
      std::make_shared_for_overwrite<unsigned char[]>(apache::kSessionCacheMaxRecord);
  std::size_t size = 0;
  apr_status_t rv = APR_SUCCESS;
  GilAssumed g;
  {
    cpython::DetachScope io(g.gil());
    rv = apache::session_cache_retrieve(*cache, id, buffer, &size);
  }
  // shmcb reports a miss as APR_NOTFOUND too, and expired entries are misses everywhere.
  if (APR_STATUS_IS_NOTFOUND(rv)) Py_RETURN_NONE;
  if (rv != APR_SUCCESS) return raise_apr(*cache, "retrieve", rv);
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(buffer.get()),
                                   static_cast<Py_ssize_t>(size));
}

PyObject* f_socache_remove(PyObject* module, PyObject* args) {
  PyObject* server = nullptr;
  PyObject* id_obj = nullptr;
  if (!PyArg_ParseTuple(args, "OO:_socache_remove", &server, &id_obj)) return nullptr;
  std::string id;
  apache::SessionCache* cache = cache_of(module, server);
  if (cache == nullptr || !id_arg(id_obj, &id)) return nullptr;
  apr_status_t rv = APR_SUCCESS;
  GilAssumed g;
  {
    cpython::DetachScope io(g.gil());
    rv = apache::session_cache_remove(*cache, id);
  }
  if (APR_STATUS_IS_NOTFOUND(rv)) Py_RETURN_FALSE;
  if (rv != APR_SUCCESS) return raise_apr(*cache, "remove", rv);
  Py_RETURN_TRUE;
}

}  // namespace

PyMethodDef g_socache_functions[] = {
    {"_socache_info", cpython::Guard<f_socache_info>::call, METH_O,
     "_socache_info(server) -> dict describing the server's session cache, or None"},
    {"_socache_store", cpython::Guard<f_socache_store>::call, METH_VARARGS,
     "_socache_store(server, id: bytes, data: bytes, ttl_seconds: int)"},
    {"_socache_retrieve", cpython::Guard<f_socache_retrieve>::call, METH_VARARGS,
     "_socache_retrieve(server, id: bytes) -> bytes or None"},
    {"_socache_remove", cpython::Guard<f_socache_remove>::call, METH_VARARGS,
     "_socache_remove(server, id: bytes) -> True if an entry was removed"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace mp::python
