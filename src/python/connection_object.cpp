// mp_conn implementation: attributes and pool-bound lifetime.
#include "python/connection_object.h"

#include <atomic>
#include <string>

#include "ap_mpm.h"
#include "apache/log.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "python/hlist_object.h"
#include "python/server_object.h"
#include "python/table_object.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

ConnectionObject* as_conn(PyObject* o) { return reinterpret_cast<ConnectionObject*>(o); }

// Per-connection list of wrappers, one per interpreter that asked for one.
struct ConnWrappers {
  cpython::Interpreter* interp;
  PyObject* object;  // strong reference, released at connection pool cleanup
  ConnWrappers* next;
};

apr_status_t release_wrappers(void* data) noexcept {
  for (auto* w = static_cast<ConnWrappers*>(data); w != nullptr; w = w->next) {
    cpython::AttachScope attach(*w->interp);
    ConnectionObject* conn = as_conn(w->object);
    conn->dead = true;
    conn->c = nullptr;
    Py_CLEAR(conn->notes);
    Py_DECREF(w->object);
  }
  return APR_SUCCESS;
}

PyObject* str_attr(const char* value) {
  GilAssumed g;
  return cpython::str_or_none(g.gil(), value).release();
}

#define CONN_OR_FAIL()                 \
  conn_rec* c = live_connection(self); \
  if (c == nullptr) return nullptr

PyObject* get_client_ip(PyObject* self, void*) {
  CONN_OR_FAIL();
  return str_attr(c->client_ip);
}
// Old code reads the deprecated attributes on every request: one warning per process and
// attribute says what to change without flooding the log.
bool first_use(std::atomic<bool>& warned) {
  return !warned.exchange(true, std::memory_order_relaxed);
}

PyObject* get_remote_ip(PyObject* self, void* closure) {
  CONN_OR_FAIL();
  static std::atomic<bool> warned{false};
  if (first_use(warned)) {
    apache::log_connection(APLOG_WARNING, 0, c, "MP0300",
                           std::string("conn.") + static_cast<const char*>(closure) +
                               " is deprecated, use conn.client_ip (logged once per process)");
  }
  return str_attr(c->client_ip);
}
PyObject* get_client_addr(PyObject* self, void*) {
  CONN_OR_FAIL();
  return address_tuple(c->client_addr).release();
}
PyObject* get_remote_addr(PyObject* self, void*) {
  CONN_OR_FAIL();
  static std::atomic<bool> warned{false};
  if (first_use(warned)) {
    apache::log_connection(
        APLOG_WARNING, 0, c, "MP0300",
        "conn.remote_addr is deprecated, use conn.client_addr (logged once per process)");
  }
  return address_tuple(c->client_addr).release();
}
PyObject* get_local_addr(PyObject* self, void*) {
  CONN_OR_FAIL();
  return address_tuple(c->local_addr).release();
}
PyObject* get_local_ip(PyObject* self, void*) {
  CONN_OR_FAIL();
  return str_attr(c->local_ip);
}
PyObject* get_local_host(PyObject* self, void*) {
  CONN_OR_FAIL();
  return str_attr(c->local_host);
}
PyObject* get_remote_host(PyObject* self, void*) {
  CONN_OR_FAIL();
  return str_attr(c->remote_host);
}
PyObject* get_remote_logname(PyObject* self, void*) {
  CONN_OR_FAIL();
  return str_attr(c->remote_logname);
}
PyObject* get_aborted(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyLong_FromLong(c->aborted);
}
PyObject* get_keepalive(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyLong_FromLong(static_cast<long>(c->keepalive));
}
int set_keepalive(PyObject* self, PyObject* value, void*) {
  conn_rec* c = live_connection(self);
  if (c == nullptr) return -1;
  long v = value ? PyLong_AsLong(value) : -1;
  if (v == -1 && PyErr_Occurred()) return -1;
  c->keepalive = static_cast<ap_conn_keepalive_e>(v);
  return 0;
}
PyObject* get_double_reverse(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyLong_FromLong(c->double_reverse);
}
PyObject* get_keepalives(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyLong_FromLong(c->keepalives);
}
PyObject* get_id(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyLong_FromLong(c->id);
}
PyObject* get_notes(PyObject* self, void*) {
  CONN_OR_FAIL();
  ConnectionObject* conn = as_conn(self);
  if (conn->notes == nullptr) {
    GilAssumed g;
    Ref view = make_table_view(g.gil(), state_of(self), c->notes, self, &conn->dead, false);
    if (!view) return nullptr;
    conn->notes = view.release();
  }
  return Py_NewRef(conn->notes);
}
PyObject* get_conn_rec(PyObject* self, void*) {
  CONN_OR_FAIL();
  return PyCapsule_New(c, "conn_rec", nullptr);
}

PyObject* get_base_server(PyObject* self, void*) {
  CONN_OR_FAIL();
  GilAssumed g;
  return make_server(g.gil(), state_of(self), c->base_server).release();
}

PyObject* get_hlist(PyObject* self, void*) {
  CONN_OR_FAIL();
  GilAssumed g;
  return make_hlist(g.gil(), state_of(self),
                    static_cast<const apache::HandlerEntry*>(as_conn(self)->dispatch_entry))
      .release();
}

PyGetSetDef g_getsets[] = {
    {"client_ip", cpython::Guard<get_client_ip>::call, nullptr, "Client IP address", nullptr},
    {"client_addr", cpython::Guard<get_client_addr>::call, nullptr, "(ip, port) of the client",
     nullptr},
    {"remote_ip", cpython::Guard<get_remote_ip>::call, nullptr, "Deprecated: client_ip",
     const_cast<char*>("remote_ip")},
    {"remote_addr", cpython::Guard<get_remote_addr>::call, nullptr, "Deprecated: client_addr",
     nullptr},
    {"local_addr", cpython::Guard<get_local_addr>::call, nullptr, "(ip, port) of the server side",
     nullptr},
    {"local_ip", cpython::Guard<get_local_ip>::call, nullptr, "Server IP address", nullptr},
    {"local_host", cpython::Guard<get_local_host>::call, nullptr, "Server host name", nullptr},
    {"remote_host", cpython::Guard<get_remote_host>::call, nullptr,
     "Client host name (if looked up)", nullptr},
    {"remote_logname", cpython::Guard<get_remote_logname>::call, nullptr, "identd name", nullptr},
    {"aborted", cpython::Guard<get_aborted>::call, nullptr, "Connection aborted", nullptr},
    {"keepalive", cpython::Guard<get_keepalive>::call, cpython::Guard<set_keepalive>::call,
     "AP_CONN_* keep-alive state", nullptr},
    {"double_reverse", cpython::Guard<get_double_reverse>::call, nullptr, nullptr, nullptr},
    {"keepalives", cpython::Guard<get_keepalives>::call, nullptr,
     "Requests served on this connection", nullptr},
    {"id", cpython::Guard<get_id>::call, nullptr, "Connection id", nullptr},
    {"notes", cpython::Guard<get_notes>::call, nullptr, "Connection notes", nullptr},
    {"_conn_rec", cpython::Guard<get_conn_rec>::call, nullptr, nullptr, nullptr},
    {"base_server", cpython::Guard<get_base_server>::call, nullptr,
     "mp_server the connection came in on", nullptr},
    {"hlist", cpython::Guard<get_hlist>::call, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

apr_bucket_brigade* input_of(ConnectionObject* conn, conn_rec* c) {
  if (conn->input == nullptr) conn->input = apr_brigade_create(c->pool, c->bucket_alloc);
  return conn->input;
}

// Moves the data of `bb` into `data`; notes EOS. Returns APR_EGENERAL on a read error.
apr_status_t drain(apr_bucket_brigade* bb, std::string* data, bool* eos) {
  apr_status_t status = APR_SUCCESS;
  while (!APR_BRIGADE_EMPTY(bb) && status == APR_SUCCESS) {
    apr_bucket* b = APR_BRIGADE_FIRST(bb);
    if (APR_BUCKET_IS_EOS(b)) {
      *eos = true;
    } else if (!APR_BUCKET_IS_METADATA(b)) {
      const char* chunk = nullptr;
      apr_size_t len = 0;
      status = apr_bucket_read(b, &chunk, &len, APR_BLOCK_READ);
      if (status == APR_SUCCESS) data->append(chunk, len);
    }
    apr_bucket_delete(b);
  }
  return status == APR_SUCCESS ? APR_SUCCESS : APR_EGENERAL;
}

bool size_argument(PyObject* const* args, Py_ssize_t nargs, long long* want) {
  *want = 0;
  if (nargs == 0 || args[0] == Py_None) return true;
  *want = PyLong_AsLongLong(args[0]);
  return !(*want == -1 && PyErr_Occurred());
}

bool child_is_stopping() {
  int state = AP_MPMQ_RUNNING;
  return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS && state == AP_MPMQ_STOPPING;
}

// Reads from the connection's input filters; returns the bytes, or None at end of stream.
PyObject* read_conn(PyObject* self, PyObject* const* args, Py_ssize_t nargs, bool line) {
  conn_rec* c = live_connection(self);
  long long want = 0;
  if (c == nullptr || !size_argument(args, nargs, &want)) return nullptr;
  apr_bucket_brigade* bb = input_of(as_conn(self), c);
  ap_input_mode_t mode =
      line ? AP_MODE_GETLINE : (want == -1 ? AP_MODE_EXHAUSTIVE : AP_MODE_READBYTES);
  apr_off_t bytes = want > 0 ? static_cast<apr_off_t>(want) : 8192;
  apr_status_t status = APR_SUCCESS;
  std::string data;
  bool eos = false;
  GilAssumed g;
  {
    cpython::DetachScope io(g.gil());
    status = ap_get_brigade(c->input_filters, bb, mode, APR_BLOCK_READ, bytes);
    if (status == APR_SUCCESS) status = drain(bb, &data, &eos);
    apr_brigade_cleanup(bb);
  }
  // A stopping child's MPM closes busy workers' sockets to wake them: end of stream too.
  bool at_end = APR_STATUS_IS_EOF(status) || APR_STATUS_IS_ECONNRESET(status) ||
                (status == APR_SUCCESS && eos) || (status != APR_SUCCESS && child_is_stopping());
  if (data.empty() && at_end) Py_RETURN_NONE;
  if (status != APR_SUCCESS && !at_end) {
    char reason[128];
    apr_strerror(status, reason, sizeof(reason));
    PyErr_Format(PyExc_OSError, "Connection read error: %s", reason);
    return nullptr;
  }
  return PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
}

PyObject* m_read(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return read_conn(self, args, nargs, false);
}
PyObject* m_readline(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return read_conn(self, args, nargs, true);
}

PyObject* m_write(PyObject* self, PyObject* arg) {
  conn_rec* c = live_connection(self);
  if (c == nullptr) return nullptr;
  GilAssumed g;
  cpython::BodyData body;
  if (!cpython::body_data(g.gil(), arg, &body)) return nullptr;
  apr_status_t status = APR_SUCCESS;
  {
    cpython::DetachScope io(g.gil());
    apr_bucket_brigade* bb = apr_brigade_create(c->pool, c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb,
                            apr_bucket_heap_create(body.data, body.size, nullptr, c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    status = ap_pass_brigade(c->output_filters, bb);
    apr_brigade_destroy(bb);
  }
  if (status != APR_SUCCESS) {
    PyErr_SetString(PyExc_OSError, "Write failed, client closed connection.");
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* m_log_error(PyObject* self, PyObject* args, PyObject* kwargs) {
  std::string message;
  int level = APLOG_ERR;
  if (!parse_log_args(args, kwargs, &message, &level)) return nullptr;
  conn_rec* c = live_connection(self);
  if (c == nullptr) return nullptr;
  apache::log_connection(level, 0, c, {}, message);
  Py_RETURN_NONE;
}

using cpython::cfunc;

PyMethodDef g_methods[] = {
    {"read", cfunc(cpython::Guard<m_read>::call), METH_FASTCALL,
     "read([len]) -> bytes, or None at end of stream"},
    {"readline", cfunc(cpython::Guard<m_readline>::call), METH_FASTCALL,
     "readline([len]) -> one line"},
    {"write", cpython::Guard<m_write>::call, METH_O, "Send data (and flush)."},
    {"log_error", cfunc(cpython::Guard<m_log_error>::call), METH_VARARGS | METH_KEYWORDS,
     "log_error(message, level=APLOG_ERR)"},
    {nullptr, nullptr, 0, nullptr},
};

int conn_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(as_conn(self)->notes);
  return 0;
}

void conn_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  Py_CLEAR(as_conn(self)->notes);
  type->tp_free(self);
  Py_DECREF(type);
}

PyType_Slot g_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(cpython::Guard<conn_dealloc>::call)},
    {Py_tp_traverse, reinterpret_cast<void*>(cpython::Guard<conn_traverse>::call)},
    {Py_tp_getset, g_getsets},
    {Py_tp_methods, g_methods},
    {0, nullptr},
};

}  // namespace

PyType_Spec g_connection_spec = {"mp_conn", sizeof(ConnectionObject), 0,
                                 Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, g_slots};

conn_rec* live_connection(PyObject* self) noexcept {
  ConnectionObject* conn = as_conn(self);
  if (conn->dead || conn->c == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "connection object used after its connection ended");
    return nullptr;
  }
  return conn->c;
}

Ref address_tuple(const apr_sockaddr_t* addr) {
  if (addr == nullptr) return Ref::borrow(Py_None);
  char* ip = nullptr;
  if (apr_sockaddr_ip_get(&ip, const_cast<apr_sockaddr_t*>(addr)) != APR_SUCCESS) {
    return Ref::borrow(Py_None);
  }
  return Ref::steal(Py_BuildValue("(si)", ip, static_cast<int>(addr->port)));
}

Ref make_connection(const cpython::Gil& /*gil*/, ModuleState* st, conn_rec* c,
                    cpython::Interpreter* interp) {
  auto* head = static_cast<ConnWrappers*>(ap_get_module_config(c->conn_config, &python_module));
  for (auto* w = head; w != nullptr; w = w->next) {
    if (w->interp == interp) return Ref::borrow(w->object);
  }
  auto* conn = PyObject_GC_New(ConnectionObject, st->connection_type);
  if (conn == nullptr) return {};
  conn->c = c;
  conn->dead = false;
  conn->interp = interp;
  conn->notes = nullptr;
  conn->input = nullptr;
  conn->dispatch_entry = nullptr;
  PyObject_GC_Track(conn);
  auto* node = static_cast<ConnWrappers*>(apr_palloc(c->pool, sizeof(ConnWrappers)));
  node->interp = interp;
  node->object = reinterpret_cast<PyObject*>(conn);  // the list's reference
  node->next = head;
  if (head == nullptr) {
    apr_pool_cleanup_register(c->pool, node, release_wrappers, apr_pool_cleanup_null);
  } else {
    // Keep the cleanup's list head current: splice the new node after the head instead.
    node->next = head->next;
    head->next = node;
  }
  if (head == nullptr) ap_set_module_config(c->conn_config, &python_module, node);
  return Ref::borrow(reinterpret_cast<PyObject*>(conn));
}

}  // namespace mp::python
