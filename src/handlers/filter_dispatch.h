// The Apache filter functions behind PythonInputFilter/PythonOutputFilter and request-scoped
// Python filters (spec §2.6).
#pragma once

#include "apache/apache.h"

namespace mp::handlers {

apr_status_t python_output_filter(ap_filter_t* f, apr_bucket_brigade* bb) noexcept;
// The same for the Python output filter registered as `name` (null: the record's name).
apr_status_t python_output_filter_named(ap_filter_t* f, apr_bucket_brigade* bb,
                                        const char* name) noexcept;
apr_status_t python_input_filter(ap_filter_t* f, apr_bucket_brigade* bb, ap_input_mode_t mode,
                                 apr_read_type_e block, apr_off_t readbytes) noexcept;

// True when another module registered a filter called `name` (httpd's names are global:
// registering it again would replace that module's filter everywhere).
bool filter_name_taken(const char* name, bool is_input) noexcept;

// Handles of the generic filters used for req.register_*_filter (registered at start-up).
void register_generic_filters() noexcept;

// req.register_*_filter / req.add_*_filter. False with a Python exception set on failure.
bool register_request_filter(request_rec* r, const char* name, const char* handler, const char* dir,
                             bool is_input);
bool add_request_filter(request_rec* r, const char* name, bool is_input);

}  // namespace mp::handlers
