// Apache httpd and APR headers in one place, with the module record declared for C++.
#pragma once

#include <ap_mmn.h>
#include <ap_mpm.h>
#include <apr_buckets.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <httpd.h>
#include <scoreboard.h>
#include <util_filter.h>
#include <util_script.h>

extern "C" {
// Default visibility: the one symbol the .so exports (everything else is hidden).
__attribute__((visibility("default"))) extern module AP_MODULE_DECLARE_DATA python_module;
// A second, hook-less record named "mod_wsgi.c" / wsgi_module, so that mod_wsgi configurations'
// <IfModule> sections see WSGI support (module/mod_python.cpp).
extern module AP_MODULE_DECLARE_DATA wsgi_module;
}
