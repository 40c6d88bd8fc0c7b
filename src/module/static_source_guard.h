// PythonDenyStaticSource: Python source, byte code, WSGI scripts and PSP pages are never sent
// as static files, while the handlers that run them still see them.
#pragma once

namespace mp::module {

// Registers the handler hook (runs after every module's handler, before httpd's default one).
void register_static_source_guard() noexcept;

}  // namespace mp::module
