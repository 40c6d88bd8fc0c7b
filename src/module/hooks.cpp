// Apache hooks: configuration lifecycle, child start and the request phases.
#include "module/hooks.h"

#include <patchlevel.h>

#include <cstring>

#include "apache/boundary.h"
#include "apache/module_config.h"
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

// A handler configured in <Location> serves URIs, not files: skip the directory walk (stat
// calls, path_info splitting) but keep core's URI translation (spec §2.1).
int map_to_storage(request_rec* r) noexcept {
  return apache::guard(r->server, static_cast<int>(DECLINED), [&]() -> int {
    if (ap_location_walk(r) != OK) return DECLINED;
    const auto* cfg = apache::dir_config(r);
    if (cfg == nullptr || !cfg->is_location) return DECLINED;
    const apr_array_header_t* list = cfg->handlers[phase_index(Phase::kHandler)];
    if (list == nullptr || list->nelts == 0) return DECLINED;
    const auto* core =
        static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    if (core == nullptr || core->expr_handler == nullptr) return DECLINED;
    const char* error = nullptr;
    const char* handler = ap_expr_str_exec(r, core->expr_handler, &error);
    if (error != nullptr || !is_python_handler(handler)) return DECLINED;
    return OK;
  });
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
  ap_hook_map_to_storage(map_to_storage, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(content_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
}

}  // namespace mp::module
