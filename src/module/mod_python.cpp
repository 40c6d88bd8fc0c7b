// The module record: the only symbol mod_python.so exports.
#include "apache/apache.h"
#include "module/config.h"
#include "module/directives.h"
#include "module/hooks.h"

namespace {

void register_hooks_thunk(apr_pool_t* pool) { mp::module::register_hooks(pool); }

}  // namespace

extern "C" {

// Written out field by field: the name gives log lines their "[python:...]" tag, and clang
// in C++20 mode would parse `module python_module = {` as a module declaration.
__attribute__((visibility("default"))) module AP_MODULE_DECLARE_DATA python_module = {
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,
    "mod_python.c",
    nullptr,
    nullptr,
    MODULE_MAGIC_COOKIE,
    nullptr,
    mp::module::create_dir_config,
    mp::module::merge_config,
    mp::module::create_server_config,
    mp::module::merge_config,
    mp::module::all_commands(),
    register_hooks_thunk,
    0,
};

// No configuration, directives or hooks of its own: everything is in python_module. Not
// exported; register_hooks links it (see add_wsgi_record in hooks.cpp).
module AP_MODULE_DECLARE_DATA wsgi_module = {
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,
    "mod_wsgi.c",
    nullptr,
    nullptr,
    MODULE_MAGIC_COOKIE,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    0,
};
}
