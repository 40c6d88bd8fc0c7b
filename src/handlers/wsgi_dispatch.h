// Embedded WSGI hosting (spec mod_wsgi-compat §2, §5, §6): URL mapping, application groups,
// script loading and reloading, and the wsgi-script content handler.
#pragma once

#include "apache/apache.h"

namespace mp::handlers {

// translate_name: WSGIScriptAlias / WSGIScriptAliasMatch.
int wsgi_translate_name(request_rec* r) noexcept;

// The content handler for "wsgi-script" and "application/x-httpd-wsgi"; DECLINED otherwise.
int wsgi_content_handler(request_rec* r) noexcept;

// Child start: WSGIImportScript and WSGIScriptAlias scripts with literal groups.
void wsgi_preload_scripts() noexcept;

}  // namespace mp::handlers
