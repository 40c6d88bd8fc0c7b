// The request phases mod_python can run handlers in, with their directive names, default
// callable names and the results that let stacked handlers continue (spec §2.1).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace mp {

enum class Phase : unsigned char {
  kPostReadRequest,
  kTrans,
  kHeaderParser,
  kInit,
  kAccess,
  kAuthen,
  kAuthz,
  kType,
  kFixup,
  kHandler,
  kLog,
  kCleanup,
  kConnection,
  kInputFilter,
  kOutputFilter,
};

inline constexpr std::size_t kPhaseCount = 15;

// Which results let the next stacked handler of a phase run.
enum class ContinueRule : unsigned char {
  kOkOrDeclined,  // continue while OK or DECLINED
  kDeclined,      // continue while DECLINED
  kOk,            // continue while OK
  kSingle,        // only one handler
};

struct PhaseInfo {
  Phase phase;
  std::string_view directive;       // "PythonHandler"
  std::string_view default_object;  // "handler"
  ContinueRule rule;
  bool accepts_extensions;  // "| .ext" syntax allowed
};

const PhaseInfo& phase_info(Phase phase) noexcept;
std::optional<Phase> phase_from_directive(std::string_view directive) noexcept;
constexpr std::size_t phase_index(Phase phase) noexcept { return static_cast<std::size_t>(phase); }

// Apache's OK / DECLINED values (kept here so pure code needs no Apache header).
inline constexpr int kResultOk = 0;
inline constexpr int kResultDeclined = -1;
inline constexpr int kResultDone = -2;

// Whether the next stacked handler runs after one returned `result`.
bool should_continue(Phase phase, int result) noexcept;

}  // namespace mp
