// psp_parse / psp_parsestring: run the pure generator (common/psp_parser) with the GIL released
// and turn its errors into Python exceptions: OSError for an unreadable page or included file,
// SyntaxError (filename and line set) for malformed PSP.

#include "python/psp_functions.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/psp_parser.h"
#include "cpython/guard.h"
#include "cpython/strings.h"
#include "cpython/thread_attach.h"

namespace mp::python {

using cpython::GilAssumed;
using cpython::Ref;

namespace {

constexpr std::size_t kMaxPageBytes = std::size_t{16} << 20U;

// Reads a whole file (called without the GIL). Files above kMaxPageBytes fail with EFBIG.
bool read_whole_file(const std::string& path, std::string* content, int* os_errno) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *os_errno = errno;
    return false;
  }
  content->clear();
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *os_errno = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    content->append(buffer, static_cast<std::size_t>(n));
    if (content->size() > kMaxPageBytes) {
      *os_errno = EFBIG;
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

PyObject* raise_psp_error(const PspError& error) {
  if (error.os_errno != 0) {
    errno = error.os_errno;
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, error.include_path.c_str());
  }
  GilAssumed g;
  Ref file = cpython::str_from_bytes(g.gil(), error.file);
  if (!file) return nullptr;
  Ref message = cpython::str_from_bytes(g.gil(), "PSP: " + error.message);
  if (!message) return nullptr;
  Ref details = Ref::steal(
      Py_BuildValue("(OnOO)", file.get(), static_cast<Py_ssize_t>(error.line), Py_None, Py_None));
  if (!details) return nullptr;
  Ref args = Ref::steal(PyTuple_Pack(2, message.get(), details.get()));
  if (!args) return nullptr;
  PyErr_SetObject(PyExc_SyntaxError, args.get());
  return nullptr;
}

PyObject* generate(const std::string& page, const PspOptions& options) {
  std::string code;
  PspError error;
  bool ok = false;
  {
    GilAssumed g;
    cpython::DetachScope detach(g.gil());
    ok = psp_generate(page, options, &code, &error);
  }
  if (!ok) return raise_psp_error(error);
  return PyUnicode_DecodeUTF8(code.data(), static_cast<Py_ssize_t>(code.size()), "strict");
}

// Filesystem path argument: str (fs-encoded) or bytes.
bool path_argument(PyObject* obj, std::string* out) {
  PyObject* encoded = nullptr;
  if (PyUnicode_FSConverter(obj, &encoded) == 0) return false;
  Ref owned = Ref::steal(encoded);
  out->assign(PyBytes_AS_STRING(encoded), static_cast<std::size_t>(PyBytes_GET_SIZE(encoded)));
  return true;
}

PyObject* f_psp_parse(PyObject*, PyObject* args) {
  PyObject* filename = nullptr;
  PyObject* dir = Py_None;
  if (!PyArg_ParseTuple(args, "O|O:psp_parse", &filename, &dir)) return nullptr;
  PspOptions options;
  if (!path_argument(filename, &options.page_name)) return nullptr;
  if (dir != Py_None && !path_argument(dir, &options.dir)) return nullptr;
  std::string path = options.page_name;
  if (!options.dir.empty() && !path.starts_with('/')) {
    path = options.dir + (options.dir.ends_with('/') ? "" : "/") + path;
  }
  options.page_name = path;
  options.read_include = read_whole_file;
  std::string page;
  int os_errno = 0;
  bool ok = false;
  {
    GilAssumed g;
    cpython::DetachScope detach(g.gil());
    ok = read_whole_file(path, &page, &os_errno);
  }
  if (!ok) {
    errno = os_errno;
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path.c_str());
  }
  return generate(page, options);
}

PyObject* f_psp_parsestring(PyObject*, PyObject* args) {
  PyObject* text = nullptr;
  PyObject* dir = Py_None;
  if (!PyArg_ParseTuple(args, "O|O:psp_parsestring", &text, &dir)) return nullptr;
  GilAssumed g;
  cpython::BodyData data;
  if (!PyUnicode_Check(text) && !PyBytes_Check(text)) {
    PyErr_Format(PyExc_TypeError, "psp_parsestring() needs str or bytes, not %.100s",
                 Py_TYPE(text)->tp_name);
    return nullptr;
  }
  if (!cpython::body_data(g.gil(), text, &data)) return nullptr;
  PspOptions options;
  options.read_include = read_whole_file;  // relative include paths: as given when no dir
  if (dir != Py_None && !path_argument(dir, &options.dir)) return nullptr;
  return generate(std::string(data.data, data.size), options);
}

PyMethodDef g_psp_functions[] = {
    {"psp_parse", cpython::Guard<f_psp_parse>::call, METH_VARARGS,
     "psp_parse(filename, dir=None) -> Python source of a PSP page file"},
    {"psp_parsestring", cpython::Guard<f_psp_parsestring>::call, METH_VARARGS,
     "psp_parsestring(text, dir=None) -> Python source of a PSP page given as str or bytes"},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace

int add_psp_functions(PyObject* module) noexcept {
  return PyModule_AddFunctions(module, g_psp_functions);
}

}  // namespace mp::python
