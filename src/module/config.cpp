// ModuleConfig lifecycle: create, merge (child overlays parent), PythonImport registry.
#include "module/config.h"

#include <cstring>
#include <string>

#include "common/extension_list.h"
#include "common/path_util.h"
#include "module/wsgi_directives.h"

namespace mp::module {

using apache::ModuleConfig;
using apache::Tristate;

namespace {

apr_array_header_t* g_imports = nullptr;

Tristate pick(Tristate child, Tristate parent) {
  return child != Tristate::kUnset ? child : parent;
}

apr_table_t* overlay(apr_pool_t* pool, const apr_table_t* child, const apr_table_t* parent) {
  apr_table_t* merged = apr_table_copy(pool, parent);
  apr_table_overlap(merged, child, APR_OVERLAP_TABLES_SET);
  return merged;
}

}  // namespace

ModuleConfig* new_config(apr_pool_t* pool, const char* dir) {
  auto* cfg = static_cast<ModuleConfig*>(apr_pcalloc(pool, sizeof(ModuleConfig)));
  if (dir != nullptr) {
    std::string with_slash = with_trailing_slash(dir);
    cfg->config_dir = apr_pstrdup(pool, with_slash.c_str());
  }
  cfg->directives = apr_table_make(pool, 4);
  cfg->options = apr_table_make(pool, 4);
  cfg->debug = Tristate::kUnset;
  cfg->autoreload = Tristate::kUnset;
  cfg->interp_per_directory = Tristate::kUnset;
  cfg->interp_per_directive = Tristate::kUnset;
  cfg->optimize = Tristate::kUnset;
  cfg->enable_pdb = Tristate::kUnset;
  cfg->deny_static_source = Tristate::kUnset;
  return cfg;
}

void* create_dir_config(apr_pool_t* pool, char* dir) noexcept { return new_config(pool, dir); }

void* create_server_config(apr_pool_t* pool, server_rec* /*s*/) noexcept {
  return new_config(pool, nullptr);
}

void* merge_config(apr_pool_t* pool, void* base_v, void* add_v) noexcept {
  const auto* base = static_cast<const ModuleConfig*>(base_v);
  const auto* add = static_cast<const ModuleConfig*>(add_v);
  auto* merged = static_cast<ModuleConfig*>(apr_palloc(pool, sizeof(ModuleConfig)));
  std::memcpy(merged, base, sizeof(ModuleConfig));
  merged->config_dir = add->config_dir != nullptr ? add->config_dir : base->config_dir;
  merged->is_location = add->is_location;
  merged->directives = overlay(pool, add->directives, base->directives);
  merged->options = overlay(pool, add->options, base->options);
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    // A section that defines a phase replaces the inherited list for that phase.
    if (add->handlers[i] != nullptr) merged->handlers[i] = add->handlers[i];
  }
  if (add->ext_handlers != nullptr && base->ext_handlers != nullptr) {
    merged->ext_handlers = apr_hash_overlay(pool, add->ext_handlers, base->ext_handlers);
  } else if (add->ext_handlers != nullptr) {
    merged->ext_handlers = add->ext_handlers;
  }
  if (add->filters != nullptr && base->filters != nullptr) {
    merged->filters = apr_hash_overlay(pool, add->filters, base->filters);
  } else if (add->filters != nullptr) {
    merged->filters = add->filters;
  }
  if (add->connection_handler != nullptr) {
    merged->connection_handler = add->connection_handler;
    merged->connection_handler_dir = add->connection_handler_dir;
  }
  if (add->addhandler_exts != nullptr && base->addhandler_exts != nullptr) {
    merged->addhandler_exts = apr_pstrdup(
        pool, merge_extension_lists(base->addhandler_exts, add->addhandler_exts).c_str());
  } else if (add->addhandler_exts != nullptr) {
    merged->addhandler_exts = add->addhandler_exts;
  }
  merged->debug = pick(add->debug, base->debug);
  merged->autoreload = pick(add->autoreload, base->autoreload);
  merged->interp_per_directory = pick(add->interp_per_directory, base->interp_per_directory);
  merged->interp_per_directive = pick(add->interp_per_directive, base->interp_per_directive);
  merged->optimize = pick(add->optimize, base->optimize);
  merged->enable_pdb = pick(add->enable_pdb, base->enable_pdb);
  merged->deny_static_source = pick(add->deny_static_source, base->deny_static_source);
  if (add->interpreter != nullptr) merged->interpreter = add->interpreter;
  if (add->python_path != nullptr) {
    merged->python_path = add->python_path;
    merged->python_path_dir = add->python_path_dir;
  }
  merged->wsgi = merge_wsgi_config(pool, base->wsgi, add->wsgi);
  return merged;
}

apr_array_header_t* import_list() noexcept { return g_imports; }

void reset_import_list(apr_pool_t* pconf) noexcept {
  g_imports = apr_array_make(pconf, 4, sizeof(apache::ImportEntry));
}

}  // namespace mp::module
