// Apache hooks: configuration lifecycle, child start and the request phases. Phase hooks are
// registered when the module loads (hooks added later, in pre_config, are not ordered against
// other modules' hooks, so run-first phases would lose to mod_mime or mod_auth_basic) and each
// returns at once unless the configuration enables its phase (decided in pre_config).
#include "module/hooks.h"

#include <mod_so.h>
#include <patchlevel.h>
#include <util_cfgtree.h>

#include <cstring>
#include <string>
#include <string_view>

#include "apache/boundary.h"
#include "apache/global_locks.h"
#include "apache/log.h"
#include "apache/module_config.h"
#include "handlers/connection_dispatch.h"
#include "handlers/filter_dispatch.h"
#include "handlers/phase_dispatch.h"
#include "handlers/request_state.h"
#include "handlers/ssi_element.h"
#include "handlers/wsgi_auth.h"
#include "handlers/wsgi_dispatch.h"
#include "module/child_lifecycle.h"
#include "module/config.h"
#include "module/directives.h"
#include "module/optional_functions.h"
#include "module/phase_usage.h"
#include "module/session_cache.h"
#include "module/static_source_guard.h"
#include "module/wsgi_directives.h"
#include "python/interpreter_setup.h"

namespace mp::module {
namespace {

// The real mod_wsgi or mod_python loaded beside us (their records carry the same names).
const char* conflicting_module() {
  for (const module_struct* m = ap_top_module; m != nullptr; m = m->next) {
    if (m->name == nullptr) continue;
    if ((std::strcmp(m->name, "mod_wsgi.c") == 0 && m != &wsgi_module) ||
        (std::strcmp(m->name, "mod_python.c") == 0 && m != &python_module)) {
      return m->name;
    }
  }
  return nullptr;
}

using handlers::run_init_phase;
using handlers::run_request_phase;

// Phases whose hooks do work in this configuration generation (set in pre_config, before
// children fork; read-only afterwards).
unsigned g_enabled_phases = 0;
bool g_python_code = false;  // the configuration has mod_python handlers, filters or imports

bool enabled(Phase p) noexcept { return (g_enabled_phases & (1u << phase_index(p))) != 0; }

bool is_python_handler(const char* handler) {
  return handler != nullptr &&
         (std::strcmp(handler, "mod_python") == 0 || std::strcmp(handler, "python-program") == 0);
}

int post_read_request(request_rec* r) noexcept {
  if (!enabled(Phase::kPostReadRequest) && !enabled(Phase::kInit)) return DECLINED;
  int result = run_init_phase(r, true);
  if (result != OK && result != DECLINED) return result;
  int own = run_request_phase(r, Phase::kPostReadRequest);
  return own == DECLINED ? result : own;
}

int translate_name(request_rec* r) noexcept {
  return enabled(Phase::kTrans) ? run_request_phase(r, Phase::kTrans) : DECLINED;
}

int header_parser(request_rec* r) noexcept {
  if (!enabled(Phase::kHeaderParser) && !enabled(Phase::kInit)) return DECLINED;
  int result = run_init_phase(r, false);
  if (result != OK && result != DECLINED) return result;
  int own = run_request_phase(r, Phase::kHeaderParser);
  return own == DECLINED ? result : own;
}

int access_checker(request_rec* r) noexcept {
  return enabled(Phase::kAccess) ? run_request_phase(r, Phase::kAccess) : DECLINED;
}
int check_user_id(request_rec* r) noexcept {
  return enabled(Phase::kAuthen) ? run_request_phase(r, Phase::kAuthen) : DECLINED;
}
int auth_checker(request_rec* r) noexcept {
  return enabled(Phase::kAuthz) ? run_request_phase(r, Phase::kAuthz) : DECLINED;
}
int type_checker(request_rec* r) noexcept {
  return enabled(Phase::kType) ? run_request_phase(r, Phase::kType) : DECLINED;
}
int fixups(request_rec* r) noexcept {
  return enabled(Phase::kFixup) ? run_request_phase(r, Phase::kFixup) : DECLINED;
}

int log_transaction(request_rec* r) noexcept {
  if (!enabled(Phase::kLog) && !enabled(Phase::kCleanup)) return DECLINED;
  return apache::guard(r->server, static_cast<int>(DECLINED), [&]() -> int {
    int result = run_request_phase(r, Phase::kLog);
    // PythonCleanupHandler runs when the request pool goes; make sure that is arranged.
    const auto* cfg = apache::dir_config(r);
    if (cfg != nullptr && cfg->handlers[phase_index(Phase::kCleanup)] != nullptr) {
      handlers::request_state(r);
    }
    return result;
  });
}

// The <Directory>, <Files> and .htaccess sections covering the file a <Location> handler's
// URI maps to must still apply: their Require lines above all, since the publisher and PSP
// serve that file. The walks merge them in (and refuse forbidden symlinks); filename,
// path_info and finfo are put back so the handler sees the URI's own mapping (spec §2.1).
//
// The URI usually names no file (the handler serves it). Walking that name would lstat every
// directory from the root to find where path_info starts; walking the nearest existing
// directory above it, whose status we give the walk, merges the same <Directory> sections and
// .htaccess files with a stat per missing component instead. When it changed the walk's
// target, returns the name <Files> sections must be matched against: the one the full walk
// would have left, ending at the first missing component. Null when the walk is left to do
// everything itself.
const char* prepare_walk_target(request_rec* r) {
  if (r->finfo.filetype != APR_NOFILE) return nullptr;
  apr_status_t rv = apr_stat(&r->finfo, r->filename, APR_FINFO_MIN, r->pool);
  if (rv == APR_SUCCESS) return nullptr;  // it exists: the walk needs no further stat
  r->finfo.filetype = APR_NOFILE;
  std::string_view path(r->filename);
  // Anything unusual (a file in the middle, "dir/", no access): the walk finds out itself.
  if (!APR_STATUS_IS_ENOENT(rv) || path.empty() || path.back() == '/') return nullptr;
  std::size_t missing_end = path.size();  // path[0, missing_end) ends in a missing component
  constexpr int kMaxMissing = 8;
  for (int i = 0; i < kMaxMissing; ++i) {
    std::size_t slash = path.rfind('/', missing_end - 1);
    if (slash == std::string_view::npos || slash == 0) return nullptr;
    char* parent = apr_pstrmemdup(r->pool, path.data(), slash);
    apr_finfo_t info;
    rv = apr_stat(&info, parent, APR_FINFO_MIN, r->pool);
    if (rv == APR_SUCCESS) {
      if (info.filetype != APR_DIR) return nullptr;
      r->filename = parent;
      r->finfo = info;
      return apr_pstrmemdup(r->pool, path.data(), missing_end);
    }
    if (!APR_STATUS_IS_ENOENT(rv)) return nullptr;
    missing_end = slash;
  }
  return nullptr;
}

int walk_storage_sections(request_rec* r) {
  char* filename = r->filename;
  char* path_info = r->path_info;
  apr_finfo_t finfo = r->finfo;
  const char* files_name = prepare_walk_target(r);
  int status = ap_directory_walk(r);
  if (status == OK) {
    if (files_name != nullptr) {
      r->filename = apr_pstrdup(r->pool, files_name);
      r->path_info = path_info;
    }
    status = ap_file_walk(r);
  }
  r->filename = filename;
  r->canonical_filename = filename;  // the walk left the directory it stopped at
  r->path_info = path_info;
  r->finfo = finfo;
  return status;
}

// A handler configured in <Location> serves URIs, not files: no path_info splitting of the
// URI, but core's URI translation and the access control of the file it names stay.
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
    if (r->filename == nullptr) return OK;  // no file behind the URI: nothing to walk
    return walk_storage_sections(r);
  });
}

int process_connection(conn_rec* c) noexcept {
  return enabled(Phase::kConnection) ? handlers::run_connection_handler(c) : DECLINED;
}

int content_handler(request_rec* r) noexcept {
  if (!is_python_handler(r->handler)) return DECLINED;
  return run_request_phase(r, Phase::kHandler);
}

// Which phases do work: the configured ones; every directory-level phase as soon as any is
// configured (req.add_handler may target later phases) or .htaccess files are possible.
unsigned enabled_phases(const PhaseUsage& usage) {
  unsigned mask = 0;
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    if (usage.phases.test(i)) mask |= 1u << i;
  }
  const Phase dir_phases[] = {Phase::kHeaderParser, Phase::kInit,  Phase::kAccess,
                              Phase::kAuthen,       Phase::kAuthz, Phase::kType,
                              Phase::kFixup,        Phase::kLog,   Phase::kCleanup};
  bool any_request_phase = usage.htaccess_possible;
  for (Phase p : dir_phases)
    any_request_phase = any_request_phase || usage.phases.test(phase_index(p));
  any_request_phase = any_request_phase || usage.phases.test(phase_index(Phase::kHandler));
  if (any_request_phase) {
    for (Phase p : dir_phases) mask |= 1u << phase_index(p);
  }
  return mask;
}

void register_phase_hooks() {
  // Run-first phases go before httpd's own modules (mod_mime, mod_auth_basic, mod_authz_core,
  // core translation): a configured Python handler decides first and may DECLINE.
  ap_hook_post_read_request(post_read_request, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_translate_name(translate_name, nullptr, nullptr, APR_HOOK_FIRST);
  ap_hook_header_parser(header_parser, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_access_checker(access_checker, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_check_user_id(check_user_id, nullptr, nullptr, APR_HOOK_FIRST);
  ap_hook_auth_checker(auth_checker, nullptr, nullptr, APR_HOOK_FIRST);
  ap_hook_type_checker(type_checker, nullptr, nullptr, APR_HOOK_FIRST);
  ap_hook_fixups(fixups, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_log_transaction(log_transaction, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_process_connection(process_connection, nullptr, nullptr, APR_HOOK_MIDDLE);
}

int pre_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/) noexcept {
  reset_import_list(pconf);
  reset_wsgi_globals();
  if (const char* conflict = conflicting_module()) {
    apache::log_server(APLOG_CRIT, 0, nullptr, "MP2002",
                       std::string(conflict) +
                           " is loaded together with this module; two embedded Pythons cannot "
                           "share a process: remove its LoadModule line");
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  apache::register_global_lock_type(pconf);
  session_cache_pre_config(pconf);
  PhaseUsage usage = scan_phase_usage(ap_conftree);
  g_enabled_phases = enabled_phases(usage);
  g_python_code = usage.python_code;
  python::process_context().addhandler_exts = apr_pstrdup(pconf, usage.addhandler_exts.c_str());
  return OK;
}

int post_config(apr_pool_t* pconf, apr_pool_t* /*plog*/, apr_pool_t* /*ptemp*/,
                server_rec* s) noexcept {
  // The directives have run by now (pre_config only sees the tree).
  python::process_context().addhandler_per_section = addhandler_hook_ran();
  // A WSGI-only configuration (a mod_wsgi drop-in) gets no start-up notice about sessions.
  if (!apache::create_global_locks(pconf, s, g_python_code ? APLOG_NOTICE : APLOG_INFO)) {
    return HTTP_INTERNAL_SERVER_ERROR;
  }
  if (!session_cache_post_config(pconf, s)) return HTTP_INTERNAL_SERVER_ERROR;
  handlers::register_ssi_element();
  ap_add_version_component(pconf, "mod_python/" MP_VERSION_STRING " Python/" PY_VERSION);
  return OK;
}

}  // namespace

namespace {

apr_status_t remove_wsgi_record(void* /*unused*/) {
  ap_remove_loaded_module(&wsgi_module);
  return APR_SUCCESS;
}

// <IfModule wsgi_module> asks mod_so's symbol table, which only knows what LoadModule named.
// This wrapper answers for wsgi_module and asks mod_so for everything else. mod_so registers
// its own again in its register_hooks at every restart, before this module is loaded again.
APR_OPTIONAL_FN_TYPE(ap_find_loaded_module_symbol) * g_mod_so_lookup = nullptr;

module_struct* find_loaded_module_symbol(server_rec* s, const char* name) {
  if (name != nullptr && std::strcmp(name, "wsgi_module") == 0 &&
      ap_find_linked_module("mod_wsgi.c") == &wsgi_module) {
    return &wsgi_module;
  }
  return g_mod_so_lookup != nullptr ? g_mod_so_lookup(s, name) : nullptr;
}

void answer_for_wsgi_symbol() {
  auto* current = APR_RETRIEVE_OPTIONAL_FN(ap_find_loaded_module_symbol);
  if (current == find_loaded_module_symbol) return;
  g_mod_so_lookup = current;
  apr_dynamic_fn_register("ap_find_loaded_module_symbol",
                          reinterpret_cast<apr_opt_fn_t*>(&find_loaded_module_symbol));
}

// Links the wsgi_module record unless a module of that name is there already (the real
// mod_wsgi: pre_config then refuses to start). Unlinked again before this .so is unloaded.
void add_wsgi_record(apr_pool_t* pool) {
  if (ap_find_linked_module("mod_wsgi.c") != nullptr) return;
  if (ap_add_loaded_module(&wsgi_module, pool, "wsgi_module") != nullptr) return;
  apr_pool_cleanup_register(pool, nullptr, remove_wsgi_record, apr_pool_cleanup_null);
  answer_for_wsgi_symbol();
}

}  // namespace

void register_hooks(apr_pool_t* pool) noexcept {
  add_wsgi_record(pool);
  ap_hook_pre_config(pre_config, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_post_config(post_config, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_child_init(child_init, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_map_to_storage(map_to_storage, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(content_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(handlers::wsgi_content_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
  register_static_source_guard();
  // After mod_alias (Alias wins, as with mod_wsgi), before mod_userdir and mod_vhost_alias.
  static const char* const kBeforeUs[] = {"mod_alias.c", nullptr};
  static const char* const kAfterUs[] = {"mod_userdir.c", "mod_vhost_alias.c", nullptr};
  ap_hook_translate_name(handlers::wsgi_translate_name, kBeforeUs, kAfterUs, APR_HOOK_MIDDLE);
  handlers::register_wsgi_auth_hooks(pool);
  register_phase_hooks();
  handlers::register_generic_filters();
  register_optional_functions();
}

}  // namespace mp::module
