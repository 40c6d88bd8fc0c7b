// Directive handlers: parse arguments at configuration time and fill ModuleConfig.
#include "module/directives.h"

#include <strings.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "apache/module_config.h"
#include "common/extension_list.h"
#include "common/handler_spec.h"
#include "common/phase.h"
#include "handlers/filter_dispatch.h"
#include "handlers/filter_slots.h"
#include "module/config.h"
#include "module/session_cache.h"
#include "module/wsgi_directives.h"

namespace mp::module {

using apache::HandlerEntry;
using apache::ModuleConfig;
using apache::Tristate;

namespace {

bool in_location(const cmd_parms* cmd) {
  for (const ap_directive_t* d = cmd->directive ? cmd->directive->parent : nullptr; d != nullptr;
       d = d->parent) {
    if (strcasecmp(d->directive, "<Location") == 0 ||
        strcasecmp(d->directive, "<LocationMatch") == 0) {
      return true;
    }
  }
  return false;
}

bool has_wildcard(const char* text) { return std::strpbrk(text, "*?[") != nullptr; }

// The first argument of a section ("<Directory "/srv/x">" -> /srv/x).
std::string section_argument(const ap_directive_t* section) {
  std::string arg = section->args != nullptr ? section->args : "";
  if (!arg.empty() && arg.back() == '>') arg.pop_back();
  while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.pop_back();
  if (arg.size() >= 2 && (arg.front() == '"' || arg.front() == '\'') && arg.back() == arg.front()) {
    arg = arg.substr(1, arg.size() - 2);
  }
  return arg;
}

// The directory a directive belongs to (spec §3.1, §4): the enclosing <Directory> or
// <Location> path, or the .htaccess directory. <Files>/<Limit>/<If> sections are looked
// through; regex and wildcard sections have no static directory (null).
const char* section_dir(const cmd_parms* cmd) {
  if (cmd->path == nullptr) return nullptr;
  const ap_directive_t* section = cmd->directive != nullptr ? cmd->directive->parent : nullptr;
  auto is = [](const ap_directive_t* d, const char* name) {
    return strcasecmp(d->directive, name) == 0;
  };
  while (section != nullptr &&
         (is(section, "<Files") || is(section, "<FilesMatch") || is(section, "<Limit") ||
          is(section, "<LimitExcept") || is(section, "<If") || is(section, "<ElseIf") ||
          is(section, "<Else"))) {
    section = section->parent;
  }
  std::string dir;
  if (section == nullptr) {
    dir = cmd->path;  // .htaccess: the directory of the file
  } else if (is(section, "<Directory") || is(section, "<Location")) {
    dir = section_argument(section);
    if (dir.empty() || dir.front() == '~' || has_wildcard(dir.c_str())) return nullptr;
  } else {
    return nullptr;  // <DirectoryMatch>, <LocationMatch>, <VirtualHost>, ...
  }
  if (dir.back() != '/') dir += '/';
  return apr_pstrdup(cmd->pool, dir.c_str());
}

// Directives written at server level are also visible through req.server.get_config().
ModuleConfig* server_copy(const cmd_parms* cmd) {
  if (cmd->path != nullptr) return nullptr;
  return apache::server_config(cmd->server);
}

void append_entry(apr_pool_t* pool, apr_array_header_t** list, const HandlerEntry& entry) {
  if (*list == nullptr) *list = apr_array_make(pool, 2, sizeof(HandlerEntry));
  *static_cast<HandlerEntry*>(apr_array_push(*list)) = entry;
}

const char* add_handlers(cmd_parms* cmd, ModuleConfig* cfg, Phase phase, const char* args,
                         bool silent) {
  HandlerDirectiveArgs parsed;
  std::string error = parse_handler_directive(args, &parsed);
  if (!error.empty()) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", error.c_str(), nullptr);
  }
  if (!parsed.extensions.empty() && !phase_info(phase).accepts_extensions) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, " does not accept \"| .ext\" syntax.", nullptr);
  }
  bool location = in_location(cmd);
  if (location) cfg->is_location = true;
  const char* dir = section_dir(cmd);
  for (const auto& handler : parsed.handlers) {
    HandlerEntry entry{apr_pstrdup(cmd->pool, handler.c_str()), dir, location, silent, true};
    if (parsed.extensions.empty()) {
      append_entry(cmd->pool, &cfg->handlers[phase_index(phase)], entry);
      continue;
    }
    if (cfg->ext_handlers == nullptr) cfg->ext_handlers = apr_hash_make(cmd->pool);
    for (const auto& ext : parsed.extensions) {
      std::string key = std::string(phase_info(phase).directive) + ext;
      auto* existing = static_cast<apr_array_header_t*>(
          apr_hash_get(cfg->ext_handlers, key.data(), static_cast<apr_ssize_t>(key.size())));
      append_entry(cmd->pool, &existing, entry);
      const char* stored_key = apr_pstrmemdup(cmd->pool, key.data(), key.size());
      apr_hash_set(cfg->ext_handlers, stored_key, static_cast<apr_ssize_t>(key.size()), existing);
    }
  }
  return nullptr;
}

// One handler per phase directive; the phase travels in cmd->info.
const char* directive_handler(cmd_parms* cmd, void* mconfig, const char* args) noexcept {
  Phase phase = *static_cast<const Phase*>(cmd->info);
  return add_handlers(cmd, static_cast<ModuleConfig*>(mconfig), phase, args, false);
}

const char* directive_handler_module(cmd_parms* cmd, void* mconfig, const char* arg) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  HandlerSpec spec;
  if (!parse_handler_spec(arg, &spec) || !spec.object.empty()) {
    return "PythonHandlerModule takes a module name";
  }
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    auto phase = static_cast<Phase>(i);
    if (phase == Phase::kConnection || phase == Phase::kInputFilter ||
        phase == Phase::kOutputFilter) {
      continue;
    }
    const char* error = add_handlers(cmd, cfg, phase, arg, true);
    if (error != nullptr) return error;
  }
  return nullptr;
}

void set_directive(cmd_parms* cmd, ModuleConfig* cfg, const char* name, const char* value) {
  apr_table_set(cfg->directives, name, value);
  if (ModuleConfig* srv = server_copy(cmd)) apr_table_set(srv->directives, name, value);
}

const char* directive_flag(cmd_parms* cmd, void* mconfig, int on) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  int member = *static_cast<const int*>(cmd->info);
  Tristate value = on ? Tristate::kOn : Tristate::kOff;
  auto assign = [&](ModuleConfig* target) {
    switch (member) {
      case 0:
        target->debug = value;
        break;
      case 1:
        target->autoreload = value;
        break;
      case 2:
        target->interp_per_directory = value;
        break;
      case 3:
        target->interp_per_directive = value;
        break;
      case 4:
        target->optimize = value;
        break;
      case 5:
        target->enable_pdb = value;
        break;
      case 6:
        target->deny_static_source = value;
        break;
      default:
        break;
    }
  };
  assign(cfg);
  apr_table_set(cfg->directives, cmd->cmd->name, on ? "1" : "0");
  // PythonInterpPerDirectory stays per-directory (spec §6.2).
  if (member != 2) {
    if (ModuleConfig* srv = server_copy(cmd)) {
      assign(srv);
      apr_table_set(srv->directives, cmd->cmd->name, on ? "1" : "0");
    }
  }
  return nullptr;
}

const char* directive_interpreter(cmd_parms* cmd, void* mconfig, const char* name) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  cfg->interpreter = name;
  if (ModuleConfig* srv = server_copy(cmd)) srv->interpreter = name;
  set_directive(cmd, cfg, "PythonInterpreter", name);
  return nullptr;
}

const char* directive_path(cmd_parms* cmd, void* mconfig, const char* expr) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  cfg->python_path = expr;
  cfg->python_path_dir = section_dir(cmd);
  if (ModuleConfig* srv = server_copy(cmd)) srv->python_path = expr;
  set_directive(cmd, cfg, "PythonPath", expr);
  return nullptr;
}

const char* directive_option(cmd_parms* cmd, void* mconfig, const char* key,
                             const char* value) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  const char* v = value != nullptr ? value : "";
  apr_table_set(cfg->options, key, v);
  if (ModuleConfig* srv = server_copy(cmd)) apr_table_set(srv->options, key, v);
  return nullptr;
}

const char* directive_import(cmd_parms* cmd, void* /*mconfig*/, const char* module,
                             const char* interpreter) noexcept {
  const char* error = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
  if (error != nullptr) return error;
  std::string text(module);
  HandlerSpec spec;
  if (!parse_handler_spec(text, &spec)) {
    return apr_pstrcat(cmd->pool, "PythonImport: '", module,
                       "' is not of the form module[::function]", nullptr);
  }
  apr_array_header_t* list = import_list();
  if (list == nullptr) {
    reset_import_list(cmd->pool);
    list = import_list();
  }
  auto* entry = static_cast<apache::ImportEntry*>(apr_array_push(list));
  entry->module = module;
  entry->interpreter = interpreter;
  entry->server = cmd->server;
  return nullptr;
}

const char* directive_filter(cmd_parms* cmd, void* mconfig, const char* handler,
                             const char* name) noexcept {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  bool is_input = *static_cast<const int*>(cmd->info) == 1;
  HandlerSpec spec;
  if (!parse_handler_spec(handler, &spec)) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": '", handler,
                       "' is not a handler of the form module[::object]", nullptr);
  }
  const char* filter_name = name != nullptr ? name : handler;
  // httpd's registry is global: registering a name another module uses would replace its
  // filter (DEFLATE, INCLUDES, ...) everywhere.
  if (handlers::filter_name_taken(filter_name, is_input)) {
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": the filter name '", filter_name,
                       "' is already used by another module; choose another NAME", nullptr);
  }
  // Registered globally at parse time; which Python code runs is looked up per request.
  if (is_input) {
    ap_register_input_filter(filter_name, handlers::python_input_filter, nullptr,
                             AP_FTYPE_RESOURCE);
  } else {
    ap_register_output_filter(filter_name, handlers::output_function_for(filter_name), nullptr,
                              AP_FTYPE_RESOURCE);
  }
  auto* entry =
      static_cast<apache::FilterEntry*>(apr_pcalloc(cmd->pool, sizeof(apache::FilterEntry)));
  entry->name = filter_name;
  entry->handler = handler;
  entry->directory = section_dir(cmd);
  entry->is_location = in_location(cmd);
  entry->is_input = is_input;
  entry->stable = true;
  if (cfg->filters == nullptr) cfg->filters = apr_hash_make(cmd->pool);
  std::string key = apache::filter_key(filter_name, is_input);
  apr_hash_set(cfg->filters, apr_pstrmemdup(cmd->pool, key.data(), key.size()),
               static_cast<apr_ssize_t>(key.size()), entry);
  return nullptr;
}

const char* directive_connection_handler(cmd_parms* cmd, void* /*mconfig*/,
                                         const char* handler) noexcept {
  const char* error = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
  if (error != nullptr) return error;
  HandlerSpec spec;
  if (!parse_handler_spec(handler, &spec)) {
    return apr_pstrcat(cmd->pool, "PythonConnectionHandler: '", handler,
                       "' is not a handler of the form module[::object]", nullptr);
  }
  ModuleConfig* srv = apache::server_config(cmd->server);
  srv->connection_handler = handler;
  srv->connection_handler_dir = nullptr;
  return nullptr;
}

template <typename F>
cmd_func as_cmd(F f) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(f));
}

// cmd->info points into these tables so each directive knows what it sets.
const Phase kPhaseIds[kPhaseCount] = {
    Phase::kPostReadRequest, Phase::kTrans,       Phase::kHeaderParser, Phase::kInit,
    Phase::kAccess,          Phase::kAuthen,      Phase::kAuthz,        Phase::kType,
    Phase::kFixup,           Phase::kHandler,     Phase::kLog,          Phase::kCleanup,
    Phase::kConnection,      Phase::kInputFilter, Phase::kOutputFilter};
const int kFlagIds[] = {0, 1, 2, 3, 4, 5, 6};
const int kFilterOutput = 0;
const int kFilterInput = 1;

void* phase_info_ptr(Phase phase) { return const_cast<Phase*>(&kPhaseIds[phase_index(phase)]); }
void* flag_ptr(int which) { return const_cast<int*>(&kFlagIds[which]); }

}  // namespace

#define MP_HANDLER_DIRECTIVE(name, phase, where, help) \
  AP_INIT_RAW_ARGS(name, as_cmd(directive_handler), phase_info_ptr(phase), where, help)
#define MP_FLAG_DIRECTIVE(name, which, where, help) \
  AP_INIT_FLAG(name, as_cmd(directive_flag), flag_ptr(which), where, help)

namespace {

bool g_addhandler_hook_ran = false;

// "AddHandler mod_python .py": this module is searched before mod_mime (loaded after it), so
// the directive passes here first. The section remembers its extensions for
// req.get_addhandler_exts(), then DECLINE_CMD hands the directive on to mod_mime.
const char* directive_addhandler(cmd_parms* cmd, void* mconfig, const char* args) noexcept {
  g_addhandler_hook_ran = true;
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  const char* rest = args;
  const char* handler = ap_getword_conf(cmd->temp_pool, &rest);
  if (strcasecmp(handler, "mod_python") != 0 && strcasecmp(handler, "python-program") != 0) {
    return DECLINE_CMD;
  }
  std::string exts = cfg->addhandler_exts != nullptr ? cfg->addhandler_exts : "";
  for (const char* ext = ap_getword_conf(cmd->temp_pool, &rest); *ext != '\0';
       ext = ap_getword_conf(cmd->temp_pool, &rest)) {
    add_extension(&exts, ext);
  }
  if (!exts.empty()) cfg->addhandler_exts = apr_pstrdup(cmd->pool, exts.c_str());
  return DECLINE_CMD;
}

}  // namespace

bool addhandler_hook_ran() noexcept { return g_addhandler_hook_ran; }

const command_rec* python_commands() noexcept {
  // A function-local table: initialised on first use, whatever the order of static
  // initialisation across files.
  static const command_rec commands[] = {
      MP_HANDLER_DIRECTIVE("PythonPostReadRequestHandler", Phase::kPostReadRequest, RSRC_CONF,
                           "Python post-read-request handlers"),
      MP_HANDLER_DIRECTIVE("PythonTransHandler", Phase::kTrans, RSRC_CONF,
                           "Python URI translation handlers"),
      MP_HANDLER_DIRECTIVE("PythonHeaderParserHandler", Phase::kHeaderParser, OR_ALL,
                           "Python header parser handlers"),
      MP_HANDLER_DIRECTIVE("PythonInitHandler", Phase::kInit, OR_ALL, "Python init handlers"),
      MP_HANDLER_DIRECTIVE("PythonAccessHandler", Phase::kAccess, OR_ALL, "Python access handlers"),
      MP_HANDLER_DIRECTIVE("PythonAuthenHandler", Phase::kAuthen, OR_ALL,
                           "Python authentication handlers"),
      MP_HANDLER_DIRECTIVE("PythonAuthzHandler", Phase::kAuthz, OR_ALL,
                           "Python authorization handlers"),
      MP_HANDLER_DIRECTIVE("PythonTypeHandler", Phase::kType, OR_ALL, "Python MIME type handlers"),
      MP_HANDLER_DIRECTIVE("PythonFixupHandler", Phase::kFixup, OR_ALL, "Python fixup handlers"),
      MP_HANDLER_DIRECTIVE("PythonHandler", Phase::kHandler, OR_ALL, "Python content handlers"),
      MP_HANDLER_DIRECTIVE("PythonLogHandler", Phase::kLog, OR_ALL, "Python logging handlers"),
      MP_HANDLER_DIRECTIVE("PythonCleanupHandler", Phase::kCleanup, OR_ALL,
                           "Python request cleanup handlers"),
      AP_INIT_RAW_ARGS("AddHandler", as_cmd(directive_addhandler), nullptr, OR_FILEINFO,
                       "seen on its way to mod_mime: extensions mapped to mod_python"),
      AP_INIT_TAKE1("PythonHandlerModule", as_cmd(directive_handler_module), nullptr, OR_ALL,
                    "A module whose functions handle every phase they are named for"),
      AP_INIT_TAKE1("PythonPath", as_cmd(directive_path), nullptr, OR_ALL,
                    "Python expression giving sys.path"),
      AP_INIT_TAKE1("PythonInterpreter", as_cmd(directive_interpreter), nullptr, OR_ALL,
                    "Name of the interpreter to use (main_interpreter for the main one)"),
      MP_FLAG_DIRECTIVE("PythonDebug", 0, OR_ALL, "Tracebacks to the client"),
      MP_FLAG_DIRECTIVE("PythonAutoReload", 1, OR_ALL, "Reload changed handler modules"),
      MP_FLAG_DIRECTIVE("PythonInterpPerDirectory", 2, OR_ALL,
                        "One interpreter per directory of the file served"),
      MP_FLAG_DIRECTIVE("PythonInterpPerDirective", 3, OR_ALL,
                        "One interpreter per directory where a directive was written"),
      MP_FLAG_DIRECTIVE("PythonOptimize", 4, RSRC_CONF, "Python optimisation level 2"),
      MP_FLAG_DIRECTIVE("PythonEnablePdb", 5, OR_ALL, "Run handlers under pdb (-DONE_PROCESS)"),
      MP_FLAG_DIRECTIVE("PythonDenyStaticSource", 6, OR_ALL,
                        "Never send .py/.pyc/.wsgi/.psp files as static files (403)"),
      AP_INIT_TAKE12("PythonInputFilter", as_cmd(directive_filter), const_cast<int*>(&kFilterInput),
                     RSRC_CONF | ACCESS_CONF, "PythonInputFilter handler [NAME]"),
      AP_INIT_TAKE12("PythonOutputFilter", as_cmd(directive_filter),
                     const_cast<int*>(&kFilterOutput), RSRC_CONF | ACCESS_CONF,
                     "PythonOutputFilter handler [NAME]"),
      AP_INIT_TAKE1("PythonConnectionHandler", as_cmd(directive_connection_handler), nullptr,
                    RSRC_CONF, "PythonConnectionHandler module[::object]"),
      AP_INIT_TAKE12("PythonOption", as_cmd(directive_option), nullptr, OR_ALL,
                     "PythonOption key [value]"),
      AP_INIT_TAKE2("PythonImport", as_cmd(directive_import), nullptr, RSRC_CONF,
                    "PythonImport module[::function] interpreter_name"),
      AP_INIT_TAKE1(
          "PythonSessionCache", as_cmd(directive_session_cache), nullptr, RSRC_CONF,
          "PythonSessionCache provider[:arguments] | none (socache behind SocacheSession)"),
      {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
  };
  return commands;
}

const command_rec* all_commands() noexcept {
  static const std::vector<command_rec> combined = [] {
    std::vector<command_rec> out;
    for (const command_rec* c = python_commands(); c->name != nullptr; ++c) out.push_back(*c);
    for (const command_rec* c = wsgi_commands(); c->name != nullptr; ++c) out.push_back(*c);
    out.push_back(command_rec{nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr});
    return out;
  }();
  return combined.data();
}

#undef MP_HANDLER_DIRECTIVE
#undef MP_FLAG_DIRECTIVE

}  // namespace mp::module
