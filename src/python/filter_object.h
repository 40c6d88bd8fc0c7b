// mp_filter: what a Python input/output filter function receives (spec §10.5). All bucket
// work happens here in C++; data written from Python is copied into heap buckets, so httpd
// never holds a pointer into Python memory.
#pragma once

#include <Python.h>

#include "apache/apache.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

struct FilterObject {
  PyObject_HEAD ap_filter_t* f;
  bool dead;
  bool is_input;
  bool closed;
  bool eos_seen;                 // EOS met while reading
  bool* disabled;                // lives in the filter's pool-allocated state
  apr_bucket_brigade* in;        // output filter: the brigade it was given; input: read buffer
  apr_bucket_brigade* out;       // output filter: pending output; input: brigade to return
  apr_bucket_brigade* consumed;  // output filter: input read this call (replayed on error)
  apr_bucket_brigade* carry;     // output filter: an incomplete line kept for the next call
  ap_input_mode_t mode;
  apr_read_type_e block;
  apr_off_t readbytes;
  PyObject* req;  // request object (or None)
  PyObject* name;
  PyObject* handler;
  PyObject* dir;
  int softspace;
};

cpython::Ref make_filter(const cpython::Gil& gil, ModuleState* st, ap_filter_t* f, bool is_input,
                         bool* disabled, PyObject* req, const char* handler, const char* dir);

// Passes what the filter wrote (and, for output filters, what it did not read) downstream.
apr_status_t flush_filter_output(FilterObject* filter, bool pass_unread) noexcept;

}  // namespace mp::python
