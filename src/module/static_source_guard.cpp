// PythonDenyStaticSource. A <FilesMatch> "Require all denied" cannot do this job: access
// control runs before the handler is chosen, so it also refuses the .py file behind a
// WSGIScriptAlias or an "AddHandler mod_python .py". This hook runs only for requests no
// module's handler took, that is, those httpd's default handler would send as they are.
#include "module/static_source_guard.h"

#include <strings.h>

#include <cstring>
#include <string>

#include "apache/apache.h"
#include "apache/boundary.h"
#include "apache/log.h"
#include "apache/module_config.h"

namespace mp::module {

namespace {

bool is_source_name(const char* filename) {
  static constexpr const char* kExtensions[] = {".py",   ".pyc", ".pyo",  ".pyw",
                                                ".wsgi", ".psp", ".pspc", ".psc"};
  const char* slash = std::strrchr(filename, '/');
  const char* dot = std::strrchr(slash != nullptr ? slash : filename, '.');
  if (dot == nullptr) return false;
  for (const char* ext : kExtensions) {
    if (strcasecmp(dot, ext) == 0) return true;
  }
  return false;
}

int refuse_static_source(request_rec* r) {
  if (r->filename == nullptr || r->finfo.filetype != APR_REG) return DECLINED;
  const auto* cfg = apache::dir_config(r);
  if (cfg == nullptr || !apache::is_on(cfg->deny_static_source, false)) return DECLINED;
  if (!is_source_name(r->filename)) return DECLINED;
  apache::log_request(APLOG_INFO, 0, r, "MP0108",
                      std::string("not sending source file ") + r->filename +
                          " as a static file (PythonDenyStaticSource)");
  return HTTP_FORBIDDEN;
}

int static_source_handler(request_rec* r) noexcept {
  return apache::guard(r->server, HTTP_INTERNAL_SERVER_ERROR,
                       [&]() { return refuse_static_source(r); });
}

}  // namespace

void register_static_source_guard() noexcept {
  ap_hook_handler(static_source_handler, nullptr, nullptr, APR_HOOK_LAST);
}

}  // namespace mp::module
