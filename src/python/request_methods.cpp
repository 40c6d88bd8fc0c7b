// mp_request methods beyond body I/O: dispatch (add_handler, register_cleanup), redirects,
// files, authentication, CGI variables, conditional requests and SSL lookups (spec §10.1).
#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_optional.h>
#include <strings.h>

#include <cstring>

#include <string>

#include "apache/log.h"
#include "apache/module_config.h"
#include "apache/ssl_optional.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/interpreter_setup.h"
#include "python/request_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

#define REQ_OR_FAIL()                  \
  request_rec* r = live_request(self); \
  if (r == nullptr) return nullptr

PyObject* str_result(const char* value) {
  GilAssumed g;
  return cpython::str_or_none(g.gil(), value).release();
}

bool text_arg(PyObject* obj, std::string* out, const char* what) {
  GilAssumed g;
  return cpython::apache_string(g.gil(), obj, out, what);
}

bool path_arg(PyObject* obj, std::string* out, const char* what) {
  GilAssumed g;
  return cpython::apache_path(g.gil(), obj, out, what);
}

PyObject* m_add_handler(PyObject* self, PyObject* args) {
  PyObject* phase = nullptr;
  PyObject* handler = nullptr;
  PyObject* dir = Py_None;
  if (!PyArg_ParseTuple(args, "OO|O:add_handler", &phase, &handler, &dir)) return nullptr;
  REQ_OR_FAIL();
  std::string phase_text;
  std::string handler_text;
  std::string dir_text;
  if (!text_arg(phase, &phase_text, "phase") || !text_arg(handler, &handler_text, "handler")) {
    return nullptr;
  }
  if (dir != Py_None && !path_arg(dir, &dir_text, "dir")) return nullptr;
  auto add = dispatch_services().add_handler;
  if (add == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "dispatcher not available");
    return nullptr;
  }
  if (!add(r, phase_text.c_str(), handler_text.c_str(),
           dir == Py_None ? nullptr : dir_text.c_str())) {
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* m_register_cleanup(PyObject* self, PyObject* args) {
  PyObject* callable = nullptr;
  PyObject* data = Py_None;
  if (!PyArg_ParseTuple(args, "O|O:register_cleanup", &callable, &data)) return nullptr;
  if (live_request(self) == nullptr) return nullptr;
  if (!PyCallable_Check(callable)) {
    PyErr_SetString(PyExc_ValueError, "first argument must be a callable object");
    return nullptr;
  }
  RequestObject* req = as_request(self);
  if (req->cleanups == nullptr) {
    req->cleanups = PyList_New(0);
    if (req->cleanups == nullptr) return nullptr;
  }
  Ref pair = Ref::steal(PyTuple_Pack(2, callable, data));
  if (!pair || PyList_Append(req->cleanups, pair.get()) < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* m_internal_redirect(PyObject* self, PyObject* arg) {
  REQ_OR_FAIL();
  std::string uri;
  if (!path_arg(arg, &uri, "uri")) return nullptr;
  GilAssumed g;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) ap_internal_redirect(apr_pstrdup(r->pool, uri.c_str()), r);
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  Py_RETURN_NONE;
}

// The status httpd's access control gives `path` looked up as a file from this request (a
// sub-request: <Directory>, <Files>, .htaccess, Require). The publisher asks it for the module
// a URL names without its extension, which the request's own checks did not see.
PyObject* m_file_access_status(PyObject* self, PyObject* arg) {
  REQ_OR_FAIL();
  std::string path;
  if (!path_arg(arg, &path, "path")) return nullptr;
  GilAssumed g;
  int status = HTTP_INTERNAL_SERVER_ERROR;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) {
      request_rec* sub = ap_sub_req_lookup_file(apr_pstrdup(r->pool, path.c_str()), r, nullptr);
      status = sub->status;
      ap_destroy_sub_req(sub);
    }
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  return PyLong_FromLong(status);
}

PyObject* m_sendfile(PyObject* self, PyObject* args) {
  PyObject* path_obj = nullptr;
  long long offset = 0;
  long long length = -1;
  if (!PyArg_ParseTuple(args, "O|LL:sendfile", &path_obj, &offset, &length)) return nullptr;
  if (offset < 0) {
    PyErr_SetString(PyExc_ValueError, "sendfile offset must not be negative");
    return nullptr;
  }
  REQ_OR_FAIL();
  std::string path;
  if (!path_arg(path_obj, &path, "path")) return nullptr;
  GilAssumed g;
  // stat and open without the GIL: a slow or hung file system must not stop every other
  // Python request of the process. Only regular files: a FIFO would block the open, and a
  // directory has no data to send.
  apr_finfo_t finfo;
  apr_file_t* fd = nullptr;
  apr_status_t stat_status = APR_SUCCESS;
  apr_status_t open_status = APR_SUCCESS;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) {
      stat_status = apr_stat(&finfo, path.c_str(), APR_FINFO_SIZE | APR_FINFO_TYPE, r->pool);
      if (stat_status == APR_SUCCESS && finfo.filetype == APR_REG) {
        open_status = apr_file_open(&fd, path.c_str(), APR_READ | APR_SENDFILE_ENABLED,
                                    APR_OS_DEFAULT, r->pool);
      }
    }
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  if (stat_status != APR_SUCCESS) {
    PyErr_Format(PyExc_OSError, "Could not stat file for reading: %s", path.c_str());
    return nullptr;
  }
  if (finfo.filetype != APR_REG) {
    PyErr_Format(PyExc_OSError, "Not a regular file: %s", path.c_str());
    return nullptr;
  }
  if (open_status != APR_SUCCESS) {
    PyErr_Format(PyExc_OSError, "Could not open file for reading: %s", path.c_str());
    return nullptr;
  }
  if (offset > finfo.size) offset = finfo.size;  // past the end: nothing to send
  if (length < 0 || offset + length > finfo.size) length = finfo.size - offset;
  apr_size_t sent = 0;
  apr_status_t status = APR_SUCCESS;
  {
    RequestIo io(g.gil(), as_request(self));
    r = io.request();
    if (r != nullptr) {
      status =
          ap_send_fd(fd, r, static_cast<apr_off_t>(offset), static_cast<apr_size_t>(length), &sent);
    }
  }
  if (r == nullptr) return request_io_refused(as_request(self));
  if (status != APR_SUCCESS) {
    return client_gone_error(self, "Write failed, client closed connection.");
  }
  as_request(self)->bytes_queued += static_cast<long long>(sent);
  return PyLong_FromSize_t(sent);
}

PyObject* m_allow_methods(PyObject* self, PyObject* args) {
  PyObject* methods = nullptr;
  int reset = 0;
  if (!PyArg_ParseTuple(args, "O|i:allow_methods", &methods, &reset)) return nullptr;
  REQ_OR_FAIL();
  if (!PySequence_Check(methods) || PyUnicode_Check(methods)) {
    PyErr_SetString(PyExc_TypeError, "First argument must be a sequence");
    return nullptr;
  }
  Py_ssize_t n = PySequence_Size(methods);
  for (Py_ssize_t i = 0; i < n; ++i) {
    Ref item = Ref::steal(PySequence_GetItem(methods, i));
    std::string name;
    if (!item || !text_arg(item.get(), &name, "method")) return nullptr;
    if (!cpython::no_line_breaks(name, "method name")) return nullptr;
    ap_allow_methods(r, (reset != 0 && i == 0) ? 1 : 0, apr_pstrdup(r->pool, name.c_str()),
                     nullptr);
    // httpd lists extension methods in "Allow" only while the M_INVALID bit is set, which
    // ap_method_list_add stopped doing in later 2.4 releases; 3.5 relied on it.
    if (ap_method_number_of(name.c_str()) == M_INVALID) {
      r->allowed_methods->method_mask |= (AP_METHOD_BIT << M_INVALID);
    }
  }
  if (n == 0 && reset != 0) ap_clear_method_list(r->allowed_methods);
  Py_RETURN_NONE;
}

// Decodes "Authorization: Basic ..." itself: works without AuthType (mod_python 3.5 did too).
PyObject* m_get_basic_auth_pw(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  const char* header = apr_table_get(
      r->headers_in, PROXYREQ_PROXY == r->proxyreq ? "Proxy-Authorization" : "Authorization");
  if (header == nullptr) Py_RETURN_NONE;
  const char* type = ap_getword(r->pool, &header, ' ');
  if (strcasecmp(type, "Basic") != 0) Py_RETURN_NONE;
  while (*header == ' ' || *header == '\t') ++header;
  char* decoded = static_cast<char*>(
      apr_palloc(r->pool, static_cast<apr_size_t>(apr_base64_decode_len(header)) + 1));
  int len = apr_base64_decode(decoded, header);
  decoded[len] = '\0';
  char* colon = std::strchr(decoded, ':');
  if (colon == nullptr) Py_RETURN_NONE;
  *colon = '\0';
  r->user = decoded;
  r->ap_auth_type = const_cast<char*>("Basic");
  GilAssumed g;
  return cpython::latin1_str_or_none(g.gil(), colon + 1).release();
}

PyObject* m_auth_name(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  return str_result(ap_auth_name(r));
}

PyObject* m_auth_type(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  return str_result(ap_auth_type(r));
}

PyObject* m_add_common_vars(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  ap_add_common_vars(r);
  Py_RETURN_NONE;
}

PyObject* m_add_cgi_vars(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  add_cgi_vars(r);
  Py_RETURN_NONE;
}

PyObject* m_set_etag(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  ap_set_etag(r);
  Py_RETURN_NONE;
}

PyObject* m_set_last_modified(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  ap_set_last_modified(r);
  Py_RETURN_NONE;
}

PyObject* m_meets_conditions(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  return PyLong_FromLong(ap_meets_conditions(r));
}

PyObject* m_update_mtime(PyObject* self, PyObject* arg) {
  REQ_OR_FAIL();
  double seconds = PyFloat_AsDouble(arg);
  if (seconds == -1.0 && PyErr_Occurred()) return nullptr;
  ap_update_mtime(r, static_cast<apr_time_t>(seconds * static_cast<double>(APR_USEC_PER_SEC)));
  Py_RETURN_NONE;
}

PyObject* m_is_https(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  auto* is_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
  return PyLong_FromLong(is_https != nullptr && is_https(r->connection) ? 1 : 0);
}

PyObject* m_ssl_var_lookup(PyObject* self, PyObject* arg) {
  REQ_OR_FAIL();
  std::string name;
  if (!text_arg(arg, &name, "variable name")) return nullptr;
  auto* lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
  if (lookup == nullptr) Py_RETURN_NONE;
  char* value = lookup(r->pool, r->server, r->connection, r, apr_pstrdup(r->pool, name.c_str()));
  if (value == nullptr || value[0] == '\0') Py_RETURN_NONE;
  return str_result(value);
}

PyObject* m_get_remote_host(PyObject* self, PyObject* args) {
  int type = REMOTE_NAME;
  PyObject* str_is_ip = nullptr;
  if (!PyArg_ParseTuple(args, "|iO:get_remote_host", &type, &str_is_ip)) return nullptr;
  if (str_is_ip == Py_None) str_is_ip = nullptr;  // 3.5: None is "not given"
  REQ_OR_FAIL();
  int is_ip = 0;
  const char* host = nullptr;
  {
    GilAssumed g;
    cpython::DetachScope io(g.gil());  // may do a DNS lookup
    host = ap_get_useragent_host(r, type, str_is_ip != nullptr ? &is_ip : nullptr);
  }
  if (str_is_ip == nullptr || host == nullptr) return str_result(host);  // no host: None (3.5)
  Ref text = Ref::steal(str_result(host));
  if (!text) return nullptr;
  return Py_BuildValue("(Oi)", text.get(), is_ip);
}

PyObject* m_get_addhandler_exts(PyObject* self, PyObject*) {
  request_rec* r = live_request(self);
  if (r == nullptr) return nullptr;
  if (!process_context().addhandler_per_section) {
    return PyUnicode_FromString(process_context().addhandler_exts);
  }
  const apache::ModuleConfig* cfg = apache::dir_config(r);
  return PyUnicode_FromString(
      cfg != nullptr && cfg->addhandler_exts != nullptr ? cfg->addhandler_exts : "");
}

PyObject* m_document_root(PyObject* self, PyObject*) {
  REQ_OR_FAIL();
  return str_result(ap_document_root(r));
}

PyObject* m_construct_url(PyObject* self, PyObject* arg) {
  REQ_OR_FAIL();
  std::string uri;
  if (!path_arg(arg, &uri, "uri")) return nullptr;
  return str_result(ap_construct_url(r->pool, uri.c_str(), r));
}

PyObject* register_filter(PyObject* self, PyObject* args, bool is_input) {
  const char* name = nullptr;
  const char* handler = nullptr;
  const char* dir = nullptr;
  if (!PyArg_ParseTuple(args, "ss|z:register_filter", &name, &handler, &dir)) return nullptr;
  REQ_OR_FAIL();
  auto fn = dispatch_services().register_filter;
  if (fn == nullptr || !fn(r, name, handler, dir, is_input)) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "dispatcher not available");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* add_filter(PyObject* self, PyObject* args, bool is_input) {
  const char* name = nullptr;
  if (!PyArg_ParseTuple(args, "s:add_filter", &name)) return nullptr;
  REQ_OR_FAIL();
  auto fn = dispatch_services().add_filter;
  if (fn == nullptr || !fn(r, name, is_input)) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "dispatcher not available");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* m_register_input_filter(PyObject* self, PyObject* args) {
  return register_filter(self, args, true);
}
PyObject* m_register_output_filter(PyObject* self, PyObject* args) {
  return register_filter(self, args, false);
}
PyObject* m_add_input_filter(PyObject* self, PyObject* args) {
  return add_filter(self, args, true);
}
PyObject* m_add_output_filter(PyObject* self, PyObject* args) {
  return add_filter(self, args, false);
}

}  // namespace

void add_cgi_vars(request_rec* r) {
  apr_table_t* env = r->subprocess_env;
  ap_add_common_vars(r);
  apr_table_setn(env, "GATEWAY_INTERFACE", "CGI/1.1");
  apr_table_setn(env, "SERVER_PROTOCOL", r->protocol);
  apr_table_setn(env, "REQUEST_METHOD", r->method);
  apr_table_setn(env, "QUERY_STRING", r->args != nullptr ? r->args : "");
  // 3.5 set the decoded path without the query string here (code appends "?" + QUERY_STRING);
  // WSGI environs carry the request line's target, as mod_cgi and mod_wsgi do.
  apr_table_setn(env, "REQUEST_URI", r->uri);
  if (r->path_info != nullptr && r->path_info[0] != '\0') {
    std::size_t uri_len = std::strlen(r->uri);
    std::size_t info_len = std::strlen(r->path_info);
    std::size_t script_len = info_len <= uri_len ? uri_len - info_len : uri_len;
    apr_table_setn(env, "SCRIPT_NAME", apr_pstrndup(r->pool, r->uri, script_len));
    apr_table_setn(env, "PATH_INFO", r->path_info);
  } else {
    apr_table_setn(env, "SCRIPT_NAME", r->uri);
  }
}

std::span<PyMethodDef> request_misc_methods() {
  static PyMethodDef methods[] = {
      {"add_handler", cpython::Guard<m_add_handler>::call, METH_VARARGS,
       "add_handler(phase, handler[, dir])"},
      {"register_cleanup", cpython::Guard<m_register_cleanup>::call, METH_VARARGS,
       "register_cleanup(callable[, data]): run at the end of the request."},
      {"internal_redirect", cpython::Guard<m_internal_redirect>::call, METH_O,
       "Internal redirect to a URI."},
      {"_file_access_status", cpython::Guard<m_file_access_status>::call, METH_O,
       "_file_access_status(path) -> the HTTP status access control gives the file"},
      {"sendfile", cpython::Guard<m_sendfile>::call, METH_VARARGS,
       "sendfile(path[, offset, len]) -> bytes sent"},
      {"allow_methods", cpython::Guard<m_allow_methods>::call, METH_VARARGS,
       "allow_methods(methods[, reset])"},
      {"get_basic_auth_pw", cpython::Guard<m_get_basic_auth_pw>::call, METH_NOARGS,
       "Password of Basic authentication (sets req.user)."},
      {"auth_name", cpython::Guard<m_auth_name>::call, METH_NOARGS, "AuthName"},
      {"auth_type", cpython::Guard<m_auth_type>::call, METH_NOARGS, "AuthType"},
      {"add_common_vars", cpython::Guard<m_add_common_vars>::call, METH_NOARGS, nullptr},
      {"add_cgi_vars", cpython::Guard<m_add_cgi_vars>::call, METH_NOARGS, nullptr},
      {"set_etag", cpython::Guard<m_set_etag>::call, METH_NOARGS, nullptr},
      {"set_last_modified", cpython::Guard<m_set_last_modified>::call, METH_NOARGS, nullptr},
      {"meets_conditions", cpython::Guard<m_meets_conditions>::call, METH_NOARGS, nullptr},
      {"update_mtime", cpython::Guard<m_update_mtime>::call, METH_O, nullptr},
      {"is_https", cpython::Guard<m_is_https>::call, METH_NOARGS, nullptr},
      {"ssl_var_lookup", cpython::Guard<m_ssl_var_lookup>::call, METH_O, nullptr},
      {"get_remote_host", cpython::Guard<m_get_remote_host>::call, METH_VARARGS, nullptr},
      {"get_addhandler_exts", cpython::Guard<m_get_addhandler_exts>::call, METH_NOARGS, nullptr},
      {"document_root", cpython::Guard<m_document_root>::call, METH_NOARGS,
       "DocumentRoot of the server."},
      {"construct_url", cpython::Guard<m_construct_url>::call, METH_O,
       "Absolute URL for a path on this server."},
      {"register_input_filter", cpython::Guard<m_register_input_filter>::call, METH_VARARGS,
       "register_input_filter(name, handler[, dir])"},
      {"register_output_filter", cpython::Guard<m_register_output_filter>::call, METH_VARARGS,
       "register_output_filter(name, handler[, dir])"},
      {"add_input_filter", cpython::Guard<m_add_input_filter>::call, METH_VARARGS,
       "add_input_filter(name)"},
      {"add_output_filter", cpython::Guard<m_add_output_filter>::call, METH_VARARGS,
       "add_output_filter(name)"},
  };
  return methods;
}

}  // namespace mp::python
