// Apache hooks: configuration lifecycle, child start and the request phases.
#include "module/hooks.h"

#include <patchlevel.h>

#include <cstring>

#include "apache/boundary.h"
#include "handlers/phase_dispatch.h"
#include "module/child_lifecycle.h"
#include "module/config.h"

namespace mp::module {
namespace {

int pre_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/) noexcept {
  reset_import_list(pconf);
  return OK;
}

int post_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                server_rec* /*s*/) noexcept {
  ap_add_version_component(pconf, "mod_python/" MP_VERSION_STRING " Python/" PY_VERSION);
  return OK;
}

bool is_python_handler(const char* handler) {
  return handler != nullptr &&
         (std::strcmp(handler, "mod_python") == 0 || std::strcmp(handler, "python-program") == 0);
}

int content_handler(request_rec* r) noexcept {
  if (!is_python_handler(r->handler)) return DECLINED;
  return handlers::run_request_phase(r, Phase::kHandler);
}

}  // namespace

void register_hooks(apr_pool_t* /*pool*/) noexcept {
  ap_hook_pre_config(pre_config, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_post_config(post_config, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_child_init(child_init, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(content_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
}

}  // namespace mp::module
