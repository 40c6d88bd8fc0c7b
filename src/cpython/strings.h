// String and bytes conversions between Apache's byte strings and Python objects (spec §1).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cpython/ref.h"
#include "cpython/thread_attach.h"

namespace mp::cpython {

// Apache -> Python: UTF-8 with surrogateescape, so reading never raises for client bytes.
Ref str_from_bytes(const Gil& gil, std::string_view bytes) noexcept;
// Same, but a null C string becomes None.
Ref str_or_none(const Gil& gil, const char* cstr) noexcept;
// Latin-1 decoding (req.user, basic-auth passwords).
Ref latin1_str_or_none(const Gil& gil, const char* cstr) noexcept;

// Python -> Apache header/attribute value: bytes as-is, str as Latin-1 where surrogate escapes
// stand for their byte. Fails with TypeError("not an ISO-8859-1 string") for other characters
// above U+00FF and ValueError for an embedded NUL. `what` names the value in messages.
[[nodiscard]] bool apache_string(const Gil& gil, PyObject* obj, std::string* out,
                                 const char* what = "value") noexcept;

// Python -> Apache path or URI (file names, req.filename/uri/path_info/args, sendfile,
// internal_redirect, construct_url): bytes and os.PathLike as-is, str as UTF-8 with surrogate
// escapes restored, so that a value read from Apache (UTF-8) is written back unchanged and a
// file name means what it means to Python's own file functions. ValueError for a NUL.
[[nodiscard]] bool apache_path(const Gil& gil, PyObject* obj, std::string* out,
                               const char* what = "path") noexcept;

// A read-only view of response body data; keeps its owner alive while it exists.
struct BodyData {
  Ref owner;
  const char* data = nullptr;
  size_t size = 0;
};
// Body output: bytes-like objects as-is, str as UTF-8 (surrogate escapes restored).
[[nodiscard]] bool body_data(const Gil& gil, PyObject* obj, BodyData* out) noexcept;

// A value bound for a response header or status line: CR and LF would split it (header
// injection), so they raise ValueError naming `what`; true when there are none.
[[nodiscard]] bool no_line_breaks(std::string_view text, const char* what) noexcept;

}  // namespace mp::cpython
