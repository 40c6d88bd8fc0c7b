// mod_ssl's optional functions (is the connection HTTPS, an SSL variable's value), declared
// here so that nothing depends on mod_ssl's header; null when mod_ssl is not loaded.
#pragma once

#include <apr_optional.h>

#include "apache/apache.h"

APR_DECLARE_OPTIONAL_FN(int, ssl_is_https, (conn_rec*));
APR_DECLARE_OPTIONAL_FN(char*, ssl_var_lookup,
                        (apr_pool_t*, server_rec*, conn_rec*, request_rec*, char*));
