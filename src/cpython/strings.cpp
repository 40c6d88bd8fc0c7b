// Conversions between Apache byte strings and Python str/bytes.
#include "cpython/strings.h"

#include <cstring>

namespace mp::cpython {

Ref str_from_bytes(const Gil& /*gil*/, std::string_view bytes) noexcept {
  return Ref::steal(
      PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "surrogateescape"));
}

Ref str_or_none(const Gil& gil, const char* cstr) noexcept {
  if (cstr == nullptr) return Ref::borrow(Py_None);
  return str_from_bytes(gil, std::string_view(cstr));
}

Ref latin1_str_or_none(const Gil& /*gil*/, const char* cstr) noexcept {
  if (cstr == nullptr) return Ref::borrow(Py_None);
  return Ref::steal(
      PyUnicode_DecodeLatin1(cstr, static_cast<Py_ssize_t>(std::strlen(cstr)), nullptr));
}

namespace {

bool reject_nul(std::string_view value, const char* what) noexcept {
  if (value.find('\0') == std::string_view::npos) return true;
  PyErr_Format(PyExc_ValueError, "%s contains an embedded NUL byte", what);
  return false;
}

// `obj` encoded with `encoding` (surrogate escapes restored) into `out`; false with the codec's
// exception set, or ValueError for a NUL.
bool encode_into(PyObject* obj, const char* encoding, std::string* out, const char* what) {
  Ref encoded = Ref::steal(PyUnicode_AsEncodedString(obj, encoding, "surrogateescape"));
  if (!encoded) return false;
  out->assign(PyBytes_AS_STRING(encoded.get()),
              static_cast<size_t>(PyBytes_GET_SIZE(encoded.get())));
  return reject_nul(*out, what);
}

}  // namespace

bool apache_string(const Gil& /*gil*/, PyObject* obj, std::string* out, const char* what) noexcept {
  try {
    if (PyBytes_Check(obj)) {
      out->assign(PyBytes_AS_STRING(obj), static_cast<size_t>(PyBytes_GET_SIZE(obj)));
      return reject_nul(*out, what);
    }
    if (!PyUnicode_Check(obj)) {
      PyErr_Format(PyExc_TypeError, "%s must be str or bytes, not %.100s", what,
                   Py_TYPE(obj)->tp_name);
      return false;
    }
    if (PyUnicode_KIND(obj) == PyUnicode_1BYTE_KIND) {
      // One byte per character is exactly Latin-1: no codec needed.
      out->assign(reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(obj)),
                  static_cast<size_t>(PyUnicode_GET_LENGTH(obj)));
      return reject_nul(*out, what);
    }
    if (encode_into(obj, "latin-1", out, what)) return true;
    if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
      PyErr_Clear();
      PyErr_SetString(PyExc_TypeError, "not an ISO-8859-1 string");
    }
    return false;
  } catch (const std::exception&) {
    PyErr_NoMemory();
    return false;
  }
}

bool apache_path(const Gil& gil, PyObject* obj, std::string* out, const char* what) noexcept {
  if (!PyUnicode_Check(obj) && !PyBytes_Check(obj)) {
    // os.PathLike (pathlib.Path): its str or bytes form.
    Ref fspath = Ref::steal(PyOS_FSPath(obj));
    if (!fspath) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "%s must be str, bytes or os.PathLike, not %.100s", what,
                   Py_TYPE(obj)->tp_name);
      return false;
    }
    return apache_path(gil, fspath.get(), out, what);
  }
  if (PyBytes_Check(obj) || PyUnicode_IS_ASCII(obj)) return apache_string(gil, obj, out, what);
  try {
    return encode_into(obj, "utf-8", out, what);
  } catch (const std::exception&) {
    PyErr_NoMemory();
    return false;
  }
}

bool body_data(const Gil& /*gil*/, PyObject* obj, BodyData* out) noexcept {
  if (PyBytes_Check(obj)) {
    out->owner = Ref::borrow(obj);
    out->data = PyBytes_AS_STRING(obj);
    out->size = static_cast<size_t>(PyBytes_GET_SIZE(obj));
    return true;
  }
  if (PyUnicode_Check(obj)) {
    if (PyUnicode_IS_ASCII(obj)) {
      out->owner = Ref::borrow(obj);
      out->data = reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(obj));
      out->size = static_cast<size_t>(PyUnicode_GET_LENGTH(obj));
      return true;
    }
    Ref encoded = Ref::steal(PyUnicode_AsEncodedString(obj, "utf-8", "surrogateescape"));
    if (!encoded) return false;
    out->data = PyBytes_AS_STRING(encoded.get());
    out->size = static_cast<size_t>(PyBytes_GET_SIZE(encoded.get()));
    out->owner = std::move(encoded);
    return true;
  }
  if (PyByteArray_Check(obj) || PyMemoryView_Check(obj)) {
    // Copy into bytes: a bytearray may be resized while Apache still holds the data.
    Ref copy = Ref::steal(PyBytes_FromObject(obj));
    if (!copy) return false;
    out->data = PyBytes_AS_STRING(copy.get());
    out->size = static_cast<size_t>(PyBytes_GET_SIZE(copy.get()));
    out->owner = std::move(copy);
    return true;
  }
  PyErr_Format(PyExc_TypeError, "write() argument must be str or bytes-like, not %.100s",
               Py_TYPE(obj)->tp_name);
  return false;
}

bool no_line_breaks(std::string_view text, const char* what) noexcept {
  if (text.find_first_of("\r\n") == std::string_view::npos) return true;
  PyErr_Format(PyExc_ValueError, "%s must not contain CR or LF", what);
  return false;
}

}  // namespace mp::cpython
