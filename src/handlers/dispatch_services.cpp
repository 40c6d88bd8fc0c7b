// req.add_handler validation and request objects for related requests.
#include "handlers/dispatch_services.h"

#include <string>

#include "common/handler_spec.h"
#include "common/path_util.h"
#include "handlers/filter_dispatch.h"
#include "handlers/request_state.h"
#include "python/request_object.h"

namespace mp::handlers {
namespace {

bool add_handler(request_rec* r, const char* phase_name, const char* handler,
                 const char* directory) {
  auto phase = phase_from_directive(phase_name);
  if (!phase || *phase == Phase::kCleanup || *phase == Phase::kConnection ||
      *phase == Phase::kInputFilter || *phase == Phase::kOutputFilter) {
    PyErr_Format(PyExc_IndexError, "Invalid phase: %s", phase_name);
    return false;
  }
  HandlerSpec spec;
  if (!parse_handler_spec(handler, &spec)) {
    PyErr_Format(PyExc_ValueError, "'%s' is not a handler of the form module[::object]", handler);
    return false;
  }
  apache::HandlerEntry entry{apr_pstrdup(r->pool, handler), nullptr, false, false, false};
  if (directory != nullptr) {
    entry.directory = apr_pstrdup(r->pool, with_trailing_slash(directory).c_str());
  } else if (const RequestState* state = existing_request_state(r)) {
    // Default: where the running handler's directive was written.
    for (auto* e = state->objects; e != nullptr; e = e->next) {
      const auto* running =
          static_cast<const apache::HandlerEntry*>(python::as_request(e->object)->dispatch_entry);
      if (running != nullptr) {
        entry.directory = running->directory;
        entry.is_location = running->is_location;
        break;
      }
    }
  }
  add_dynamic_handler(r, *phase, entry);
  return true;
}

PyObject* object_for(request_rec* r, cpython::Interpreter* interp) {
  cpython::GilAssumed g;
  return request_object(g.gil(), r, *interp);
}

}  // namespace

void install_dispatch_services() noexcept {
  auto& services = python::dispatch_services();
  services.add_handler = &add_handler;
  services.object_for = &object_for;
  services.register_filter = &register_request_filter;
  services.add_filter = &add_request_filter;
}

}  // namespace mp::handlers
