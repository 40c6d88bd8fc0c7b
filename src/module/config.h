// Creation and merging of ModuleConfig records (spec §6.2) and the PythonImport list.
#pragma once

#include "apache/module_config.h"

namespace mp::module {

apache::ModuleConfig* new_config(apr_pool_t* pool, const char* dir);
void* create_dir_config(apr_pool_t* pool, char* dir) noexcept;
void* merge_config(apr_pool_t* pool, void* base, void* add) noexcept;
void* create_server_config(apr_pool_t* pool, server_rec* s) noexcept;

// PythonImport entries in configuration order, for the current configuration generation.
apr_array_header_t* import_list() noexcept;
void reset_import_list(apr_pool_t* pconf) noexcept;

}  // namespace mp::module
