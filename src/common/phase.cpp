// Phase table (spec §2.1).
#include "common/phase.h"

namespace mp {
namespace {

constexpr std::array<PhaseInfo, kPhaseCount> kPhases{{
    {Phase::kPostReadRequest, "PythonPostReadRequestHandler", "postreadrequesthandler",
     ContinueRule::kOkOrDeclined, false},
    {Phase::kTrans, "PythonTransHandler", "transhandler", ContinueRule::kDeclined, false},
    {Phase::kHeaderParser, "PythonHeaderParserHandler", "headerparserhandler",
     ContinueRule::kOkOrDeclined, true},
    {Phase::kInit, "PythonInitHandler", "inithandler", ContinueRule::kOkOrDeclined, true},
    {Phase::kAccess, "PythonAccessHandler", "accesshandler", ContinueRule::kOkOrDeclined, true},
    {Phase::kAuthen, "PythonAuthenHandler", "authenhandler", ContinueRule::kDeclined, true},
    {Phase::kAuthz, "PythonAuthzHandler", "authzhandler", ContinueRule::kDeclined, true},
    {Phase::kType, "PythonTypeHandler", "typehandler", ContinueRule::kDeclined, true},
    {Phase::kFixup, "PythonFixupHandler", "fixuphandler", ContinueRule::kOkOrDeclined, true},
    {Phase::kHandler, "PythonHandler", "handler", ContinueRule::kOk, true},
    {Phase::kLog, "PythonLogHandler", "loghandler", ContinueRule::kOkOrDeclined, true},
    {Phase::kCleanup, "PythonCleanupHandler", "cleanuphandler", ContinueRule::kOk, true},
    {Phase::kConnection, "PythonConnectionHandler", "connectionhandler", ContinueRule::kSingle,
     false},
    {Phase::kInputFilter, "PythonInputFilter", "inputfilter", ContinueRule::kSingle, false},
    {Phase::kOutputFilter, "PythonOutputFilter", "outputfilter", ContinueRule::kSingle, false},
}};

}  // namespace

const PhaseInfo& phase_info(Phase phase) noexcept { return kPhases[phase_index(phase)]; }

std::optional<Phase> phase_from_directive(std::string_view directive) noexcept {
  for (const auto& info : kPhases) {
    if (info.directive.size() == directive.size()) {
      bool same = true;
      for (std::size_t i = 0; i < directive.size() && same; ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        same = lower(info.directive[i]) == lower(directive[i]);
      }
      if (same) return info.phase;
    }
  }
  return std::nullopt;
}

bool should_continue(Phase phase, int result) noexcept {
  switch (phase_info(phase).rule) {
    case ContinueRule::kOkOrDeclined:
      return result == kResultOk || result == kResultDeclined;
    case ContinueRule::kDeclined:
      return result == kResultDeclined;
    case ContinueRule::kOk:
      return result == kResultOk;
    case ContinueRule::kSingle:
      return false;
  }
  return false;
}

}  // namespace mp
