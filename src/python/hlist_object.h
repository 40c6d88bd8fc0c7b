// mp_hlist: the handler entry being run (req.hlist / conn.hlist, spec §10.6).
#pragma once

#include "apache/module_config.h"
#include "cpython/ref.h"
#include "cpython/thread_attach.h"
#include "python/module_state.h"

namespace mp::python {

// A snapshot of `entry` (may be null: an empty list).
cpython::Ref make_hlist(const cpython::Gil& gil, ModuleState* st,
                        const apache::HandlerEntry* entry);

}  // namespace mp::python
