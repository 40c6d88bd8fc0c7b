#include "wsgi/environ_cache.h"

#include <cstring>
#include <utility>

namespace mp::wsgi {

using cpython::Ref;

namespace {

// Whether decoding `text` again would give exactly `str`. Latin-1 maps each byte to the code
// point of the same value, so a one-byte-kind str holds the very bytes it came from; the
// filesystem decoding is only trusted for ASCII, where it is the identity too.
bool decodes_to(PyObject* str, std::string_view text, bool filesystem) {
  if (PyUnicode_KIND(str) != PyUnicode_1BYTE_KIND) return false;
  if (filesystem && !PyUnicode_IS_ASCII(str)) return false;
  return static_cast<std::size_t>(PyUnicode_GET_LENGTH(str)) == text.size() &&
         std::memcmp(PyUnicode_1BYTE_DATA(str), text.data(), text.size()) == 0;
}

}  // namespace

Ref EnvironCache::key(std::string_view key, std::size_t position) {
  Slot spare;
  Slot& slot = position < kPositions ? last_[position] : spare;
  if (slot.key_object != nullptr && slot.key == key) return Ref::borrow(slot.key_object);
  auto it = all_.find(key);
  if (it == all_.end()) {
    PyObject* k = PyUnicode_DecodeLatin1(key.data(), static_cast<Py_ssize_t>(key.size()), nullptr);
    if (k == nullptr) return {};
    PyUnicode_InternInPlace(&k);
    Ref made = Ref::steal(k);
    if (all_.size() >= kMaxKept || key.size() > kMaxKeptKey) return made;
    it = all_.emplace(std::string(key), std::move(made)).first;
  }
  slot.key = it->first;
  slot.key_object = it->second.get();
  return Ref::borrow(slot.key_object);
}

Ref EnvironCache::value(std::string_view text, bool filesystem, std::size_t position) {
  Ref* last = position < kPositions ? &last_[position].value : nullptr;
  if (last != nullptr && *last && decodes_to(last->get(), text, filesystem)) return *last;
  auto size = static_cast<Py_ssize_t>(text.size());
  Ref made = Ref::steal(filesystem ? PyUnicode_DecodeFSDefaultAndSize(text.data(), size)
                                   : PyUnicode_DecodeLatin1(text.data(), size, nullptr));
  if (made && last != nullptr && text.size() <= kMaxReusedValue) *last = made;
  return made;
}

}  // namespace mp::wsgi
