// Slot functions for Python output filters (see filter_slots.h).
#include "handlers/filter_slots.h"

#include <strings.h>

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "handlers/filter_dispatch.h"

namespace mp::handlers {

namespace {

// Distinct PythonOutputFilter names a server can use inside mod_filter chains; more fall back
// to the shared function (fine everywhere except as a FilterProvider).
constexpr std::size_t kSlots = 64;

// Written only while the configuration is read (before any request thread exists). The table
// lives as long as the module's DSO, which httpd reloads with each configuration.
std::array<std::string, kSlots> g_names;
std::size_t g_used = 0;

template <std::size_t N>
apr_status_t slot_filter(ap_filter_t* f, apr_bucket_brigade* bb) noexcept {
  return python_output_filter_named(f, bb, g_names[N].c_str());
}

template <std::size_t... N>
constexpr std::array<ap_out_filter_func, sizeof...(N)> make_slots(
    std::index_sequence<N...> /*indexes*/) {
  return {&slot_filter<N>...};
}

constexpr std::array<ap_out_filter_func, kSlots> kSlotFunctions =
    make_slots(std::make_index_sequence<kSlots>{});

}  // namespace

ap_out_filter_func output_function_for(const char* name) noexcept {
  for (std::size_t i = 0; i < g_used; ++i) {
    if (strcasecmp(g_names[i].c_str(), name) == 0) return kSlotFunctions[i];
  }
  if (g_used == kSlots) return python_output_filter;
  try {
    g_names[g_used] = name;
  } catch (...) {
    return python_output_filter;
  }
  return kSlotFunctions[g_used++];
}

bool is_python_output_function(ap_out_filter_func func) noexcept {
  if (func == python_output_filter) return true;
  for (std::size_t i = 0; i < g_used; ++i) {
    if (kSlotFunctions[i] == func) return true;
  }
  return false;
}

}  // namespace mp::handlers
