// The WSGI* directives (spec mod_wsgi-compat §3) and their configuration merge.
#pragma once

#include "apache/apache.h"
#include "apache/wsgi_config.h"

namespace mp::module {

// The command table, terminated by an entry with a null name.
const command_rec* wsgi_commands() noexcept;

// Child section settings overlay the parent's; either may be null.
apache::WsgiConfig* merge_wsgi_config(apr_pool_t* pool, apache::WsgiConfig* base,
                                      apache::WsgiConfig* add);

// Forgets the previous configuration generation's process-wide WSGI settings (pre_config).
void reset_wsgi_globals() noexcept;

}  // namespace mp::module
