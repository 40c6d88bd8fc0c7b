// Formatting of Python exceptions for the error log and the PythonDebug page.
#include "cpython/exception.h"

#include <string_view>

namespace mp::cpython {

FetchedException FetchedException::fetch(const Gil& /*gil*/) noexcept {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value != nullptr && tb != nullptr) PyException_SetTraceback(value, tb);
  FetchedException out;
  out.type = Ref::steal(type);
  out.value = Ref::steal(value);
  out.traceback = Ref::steal(tb);
  return out;
}

void FetchedException::restore(const Gil& /*gil*/) noexcept {
  PyErr_Restore(type.release(), value.release(), traceback.release());
}

std::string describe(const Gil& /*gil*/, PyObject* obj) {
  if (obj == nullptr) return {};
  Ref text = Ref::steal(PyObject_Str(obj));
  if (!text) {
    PyErr_Clear();
    return "<unprintable object>";
  }
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.get(), &size);
  if (data == nullptr) {
    PyErr_Clear();
    Ref bytes = Ref::steal(PyUnicode_AsEncodedString(text.get(), "utf-8", "backslashreplace"));
    if (!bytes) {
      PyErr_Clear();
      return "<unprintable object>";
    }
    return std::string(PyBytes_AS_STRING(bytes.get()),
                       static_cast<size_t>(PyBytes_GET_SIZE(bytes.get())));
  }
  return std::string(data, static_cast<size_t>(size));
}

namespace {

void append_lines(std::vector<std::string>& out, std::string_view text) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

std::vector<std::string> format_exception(const Gil& gil, const FetchedException& exc) {
  std::vector<std::string> lines;
  if (exc.empty()) return lines;
  Ref module = Ref::steal(PyImport_ImportModule("traceback"));
  Ref formatted;
  if (module) {
    formatted = Ref::steal(PyObject_CallMethod(
        module.get(), "format_exception", "OOO", exc.type.get(),
        exc.value ? exc.value.get() : Py_None, exc.traceback ? exc.traceback.get() : Py_None));
  }
  if (!formatted || !PyList_Check(formatted.get())) {
    PyErr_Clear();
    PyObject* name_obj = PyObject_GetAttrString(exc.type.get(), "__name__");
    std::string name = name_obj ? describe(gil, name_obj) : "Exception";
    Py_XDECREF(name_obj);
    PyErr_Clear();
    lines.push_back(name + ": " + describe(gil, exc.value.get()));
    return lines;
  }
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(formatted.get()); ++i) {
    append_lines(lines, describe(gil, PyList_GET_ITEM(formatted.get(), i)));
  }
  return lines;
}

FormattedException format_current_exception(const Gil& gil) {
  FetchedException exc = FetchedException::fetch(gil);
  std::vector<std::string> lines = format_exception(gil, exc);
  return {std::move(exc), std::move(lines)};
}

}  // namespace mp::cpython
