// Access and auth hooks written in Python, as mod_wsgi has them (spec mod_wsgi-compat §3.5,
// §10): WSGIAccessScript (allow_access), the "wsgi" authentication provider
// (WSGIAuthUserScript: check_password, get_realm_hash) and the "wsgi-group" authorization
// provider (WSGIAuthGroupScript: groups_for_user). They always run embedded.
#pragma once

#include "apache/apache.h"

namespace mp::handlers {

// Registers the access_checker hook and the two auth providers (register_hooks time).
void register_wsgi_auth_hooks(apr_pool_t* pool) noexcept;

}  // namespace mp::handlers
