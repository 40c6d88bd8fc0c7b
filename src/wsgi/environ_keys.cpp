#include "wsgi/environ_keys.h"

namespace mp::wsgi {

using cpython::Ref;

Ref EnvironKeys::get(std::string_view key, std::size_t position) {
  Slot spare;
  Slot& slot = position < kPositions ? last_[position] : spare;
  if (slot.object != nullptr && slot.text == key) return Ref::borrow(slot.object);
  auto it = all_.find(key);
  if (it == all_.end()) {
    PyObject* k = PyUnicode_DecodeLatin1(key.data(), static_cast<Py_ssize_t>(key.size()), nullptr);
    if (k == nullptr) return {};
    PyUnicode_InternInPlace(&k);
    if (all_.size() >= kMaxKept) return Ref::steal(k);
    it = all_.emplace(std::string(key), Ref::steal(k)).first;
  }
  slot.text = it->first;
  slot.object = it->second.get();
  return Ref::borrow(slot.object);
}

}  // namespace mp::wsgi
