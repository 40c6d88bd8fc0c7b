// The WSGI* directives (spec mod_wsgi-compat §3): same names, arguments and contexts as
// mod_wsgi 4.9, stored in ModuleConfig::wsgi. Daemon-mode directives are refused with a clear
// error until daemon mode exists; runtime tuning directives we do not implement are accepted
// with a startup warning, never silently.
#include "module/wsgi_directives.h"

#include <strings.h>

#include <cstring>
#include <string>
#include <string_view>

#include "apache/log.h"
#include "apache/wsgi_config.h"
#include "module/config.h"
#include "module/wsgi_runtime_directives.h"

namespace mp::apache {

WsgiGlobals& wsgi_globals() noexcept {
  static WsgiGlobals globals{};
  return globals;
}

}  // namespace mp::apache

namespace mp::module {

using apache::HeadMapping;
using apache::ModuleConfig;
using apache::Tristate;
using apache::WsgiAlias;
using apache::WsgiConfig;
using apache::WsgiPreload;

namespace {

apache::WsgiGlobals& globals(apr_pool_t* pool) {
  auto& g = apache::wsgi_globals();
  if (g.python_paths == nullptr) g.python_paths = apr_array_make(pool, 2, sizeof(const char*));
  if (g.preloads == nullptr) g.preloads = apr_array_make(pool, 2, sizeof(WsgiPreload));
  g.any_wsgi = true;
  return g;
}

WsgiConfig* new_wsgi_config(apr_pool_t* pool) {
  auto* w = static_cast<WsgiConfig*>(apr_pcalloc(pool, sizeof(WsgiConfig)));
  w->pass_authorization = Tristate::kUnset;
  w->chunked_request = Tristate::kUnset;
  w->script_reloading = Tristate::kUnset;
  w->error_override = Tristate::kUnset;
  w->enable_sendfile = Tristate::kUnset;
  w->pass_apache_request = Tristate::kUnset;
  w->map_head_to_get = HeadMapping::kUnset;
  return w;
}

// The WSGI part of the per-directory record the directive is written in. At server level that
// is the server's directory defaults, which every request's configuration merges in.
WsgiConfig* wsgi_of(cmd_parms* cmd, void* mconfig) {
  auto* cfg = static_cast<ModuleConfig*>(mconfig);
  if (cfg->wsgi == nullptr) cfg->wsgi = new_wsgi_config(cmd->pool);
  globals(cmd->pool);
  return cfg->wsgi;
}

// The WSGI part of the server (or virtual host) record: URL aliases are matched in
// translate_name, before any per-directory configuration exists.
WsgiConfig* server_wsgi_of(cmd_parms* cmd) {
  ModuleConfig* cfg = apache::server_config(cmd->server);
  if (cfg->wsgi == nullptr) cfg->wsgi = new_wsgi_config(cmd->pool);
  globals(cmd->pool);
  return cfg->wsgi;
}

Tristate flag(int on) { return on != 0 ? Tristate::kOn : Tristate::kOff; }

const char* error(cmd_parms* cmd, const std::string& text) {
  return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", text.c_str(), nullptr);
}

// Says once at startup that the directive has no effect here.
void warn_no_effect(cmd_parms* cmd, const char* why) {
  std::string where = cmd->directive != nullptr ? std::string(cmd->directive->filename) + ":" +
                                                      std::to_string(cmd->directive->line_num)
                                                : std::string("?");
  apache::log_server(APLOG_WARNING, 0, cmd->server, "MP2001",
                     std::string(cmd->cmd->name) + " (" + where +
                         ") is accepted for mod_wsgi compatibility but has no effect in this "
                         "version: " +
                         why);
}

// Whether a process-group value selects embedded mode (the only mode implemented so far).
bool is_embedded_group(std::string_view group) { return group.empty() || group == "%{GLOBAL}"; }

const char* kDaemonUnsupported =
    "daemon mode is not yet supported by this module; remove the directive or use embedded "
    "mode (process-group %{GLOBAL})";

// "key=value" options after WSGIScriptAlias(Match) / WSGIImportScript arguments.
const char* parse_alias_options(cmd_parms* cmd, const char** args, WsgiAlias* alias,
                                bool import_script) {
  while (**args != '\0') {
    char* word = ap_getword_conf(cmd->pool, args);
    if (*word == '\0') break;
    char* eq = std::strchr(word, '=');
    if (eq == nullptr) return error(cmd, std::string("invalid option '") + word + "'");
    *eq = '\0';
    const char* value = eq + 1;
    if (strcasecmp(word, "process-group") == 0) {
      if (!is_embedded_group(value)) return error(cmd, kDaemonUnsupported);
      alias->process_group = value;
    } else if (strcasecmp(word, "application-group") == 0) {
      alias->application_group = value;
    } else if (!import_script && strcasecmp(word, "callable-object") == 0) {
      if (*value == '\0') return error(cmd, "callable-object must not be empty");
      alias->callable_object = value;
    } else if (!import_script && strcasecmp(word, "pass-authorization") == 0) {
      if (strcasecmp(value, "On") == 0) {
        alias->pass_authorization = Tristate::kOn;
      } else if (strcasecmp(value, "Off") == 0) {
        alias->pass_authorization = Tristate::kOff;
      } else {
        return error(cmd, "pass-authorization must be On or Off");
      }
    } else {
      return error(cmd, std::string("unknown option '") + word + "'");
    }
  }
  return nullptr;
}

bool is_literal_group(const char* group) {
  return group != nullptr &&
         (std::strstr(group, "%{") == nullptr || std::strcmp(group, "%{GLOBAL}") == 0 ||
          std::strcmp(group, "%{SERVER}") == 0);
}

void add_preload(cmd_parms* cmd, const char* script, const char* group, const char* callable) {
  auto* p = static_cast<WsgiPreload*>(apr_array_push(globals(cmd->pool).preloads));
  p->script = script;
  p->application_group = group;
  p->callable_object = callable;
  p->server = cmd->server;
}

const char* script_alias(cmd_parms* cmd, const char* raw, bool regex) {
  const char* args = raw;
  const char* location = ap_getword_conf(cmd->pool, &args);
  const char* target = ap_getword_conf(cmd->pool, &args);
  if (*location == '\0' || *target == '\0') {
    return error(cmd, "expects a URL (or pattern), a script file or directory, and options");
  }
  WsgiAlias alias{};
  alias.location = location;
  alias.target = ap_server_root_relative(cmd->pool, target);
  if (alias.target == nullptr) return error(cmd, std::string("invalid path '") + target + "'");
  alias.pass_authorization = Tristate::kUnset;
  if (regex) {
    alias.regex = ap_pregcomp(cmd->pool, location, AP_REG_EXTENDED);
    if (alias.regex == nullptr) {
      return error(cmd, std::string("invalid regular expression '") + location + "'");
    }
  }
  if (const char* err = parse_alias_options(cmd, &args, &alias, false)) return err;
  WsgiConfig* w = server_wsgi_of(cmd);
  if (w->aliases == nullptr) w->aliases = apr_array_make(cmd->pool, 2, sizeof(WsgiAlias));
  *static_cast<WsgiAlias*>(apr_array_push(w->aliases)) = alias;
  // Literal groups: the script is loaded when the child starts (mod_wsgi preloading).
  bool has_substitution = regex && std::strchr(alias.target, '$') != nullptr;
  if (alias.process_group != nullptr && is_literal_group(alias.application_group) &&
      !has_substitution) {
    add_preload(cmd, alias.target, alias.application_group,
                alias.callable_object != nullptr ? alias.callable_object : "application");
  }
  return nullptr;
}

const char* directive_script_alias(cmd_parms* cmd, void* /*mconfig*/, const char* raw) {
  return script_alias(cmd, raw, false);
}

const char* directive_script_alias_match(cmd_parms* cmd, void* /*mconfig*/, const char* raw) {
  return script_alias(cmd, raw, true);
}

const char* directive_import_script(cmd_parms* cmd, void* /*mconfig*/, const char* raw) {
  const char* args = raw;
  const char* script = ap_getword_conf(cmd->pool, &args);
  if (*script == '\0') return error(cmd, "expects a script path and options");
  WsgiAlias options{};
  if (const char* err = parse_alias_options(cmd, &args, &options, true)) return err;
  if (options.application_group == nullptr) {
    return error(cmd, "application-group= is required");
  }
  if (!is_literal_group(options.application_group)) {
    return error(cmd, "application-group must be a literal name, %{GLOBAL} or %{SERVER}");
  }
  const char* path = ap_server_root_relative(cmd->pool, script);
  if (path == nullptr) return error(cmd, std::string("invalid path '") + script + "'");
  add_preload(cmd, path, options.application_group, nullptr);
  return nullptr;
}

const char* directive_application_group(cmd_parms* cmd, void* mconfig, const char* value) {
  wsgi_of(cmd, mconfig)->application_group = value;
  return nullptr;
}

const char* directive_callable_object(cmd_parms* cmd, void* mconfig, const char* value) {
  if (*value == '\0') return error(cmd, "the callable name must not be empty");
  wsgi_of(cmd, mconfig)->callable_object = value;
  return nullptr;
}

const char* directive_process_group(cmd_parms* cmd, void* mconfig, const char* value) {
  if (!is_embedded_group(value)) return error(cmd, kDaemonUnsupported);
  wsgi_of(cmd, mconfig)->process_group = value;
  return nullptr;
}

enum HookScriptId : int { kAccessScript, kAuthUserScript, kAuthGroupScript, kDispatchScript };
const int kHookScriptIds[] = {kAccessScript, kAuthUserScript, kAuthGroupScript, kDispatchScript};

// WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript / WSGIDispatchScript path
// [application-group=name].
const char* directive_hook_script(cmd_parms* cmd, void* mconfig, const char* raw) {
  const char* args = raw;
  const char* script = ap_getword_conf(cmd->pool, &args);
  if (*script == '\0') return error(cmd, "expects a script path and options");
  auto* hook =
      static_cast<apache::WsgiHookScript*>(apr_pcalloc(cmd->pool, sizeof(apache::WsgiHookScript)));
  hook->path = ap_server_root_relative(cmd->pool, script);
  if (hook->path == nullptr) return error(cmd, std::string("invalid path '") + script + "'");
  while (*args != '\0') {
    char* word = ap_getword_conf(cmd->pool, &args);
    if (*word == '\0') break;
    char* eq = std::strchr(word, '=');
    if (eq == nullptr) return error(cmd, std::string("invalid option '") + word + "'");
    *eq = '\0';
    if (strcasecmp(word, "application-group") != 0) {
      return error(cmd, std::string("unknown option '") + word + "'");
    }
    // Per-request names would let clients create interpreters at will (one per URL, Host
    // header or variable value) before anything checked them.
    std::string_view group = eq + 1;
    if (group.empty() || group.find("%{RESOURCE}") != std::string_view::npos ||
        group.find("%{HOST}") != std::string_view::npos ||
        group.find("%{ENV:") != std::string_view::npos) {
      return error(cmd, "application-group must be a name, %{GLOBAL} or %{SERVER}");
    }
    hook->application_group = eq + 1;
  }
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  switch (*static_cast<const int*>(cmd->info)) {
    case kAccessScript:
      w->access_script = hook;
      break;
    case kAuthUserScript:
      w->auth_user_script = hook;
      break;
    case kDispatchScript:
      w->dispatch_script = hook;
      break;
    default:
      w->auth_group_script = hook;
      break;
  }
  return nullptr;
}

// WSGIHandlerScript name path [process-group=%{GLOBAL}] [application-group=]
// [pass-authorization=].
const char* directive_handler_script(cmd_parms* cmd, void* mconfig, const char* raw) {
  const char* args = raw;
  const char* name = ap_getword_conf(cmd->pool, &args);
  const char* script = ap_getword_conf(cmd->pool, &args);
  if (*name == '\0' || *script == '\0') {
    return error(cmd, "expects a handler name, a script path and options");
  }
  WsgiAlias options{};
  options.pass_authorization = Tristate::kUnset;
  if (const char* err = parse_alias_options(cmd, &args, &options, false)) return err;
  if (options.callable_object != nullptr) {
    return error(cmd,
                 "callable-object is not an option here: the script's handle_request() "
                 "handles the request");
  }
  apache::WsgiHandlerScript handler{};
  handler.name = name;
  handler.path = ap_server_root_relative(cmd->pool, script);
  if (handler.path == nullptr) return error(cmd, std::string("invalid path '") + script + "'");
  handler.application_group = options.application_group;
  handler.pass_authorization = options.pass_authorization;
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  if (w->handler_scripts == nullptr) {
    w->handler_scripts = apr_array_make(cmd->pool, 2, sizeof(apache::WsgiHandlerScript));
  }
  // httpd compares handler names without case; a second definition in the section wins.
  auto* defined = reinterpret_cast<apache::WsgiHandlerScript*>(w->handler_scripts->elts);
  for (int i = 0; i < w->handler_scripts->nelts; ++i) {
    if (strcasecmp(defined[i].name, name) == 0) {
      defined[i] = handler;
      return nullptr;
    }
  }
  *static_cast<apache::WsgiHandlerScript*>(apr_array_push(w->handler_scripts)) = handler;
  return nullptr;
}

enum FlagId : int {
  kPassAuthorization,
  kChunkedRequest,
  kScriptReloading,
  kErrorOverride,
  kEnableSendfile,
  kPassApacheRequest,
  kRestrictEmbedded,
  kRestrictSignal,
  kGroupAuthoritative,
  kDontWriteBytecode,
  kRestrictStdin,
  kRestrictStdout,
};
const int kFlagIds[] = {kPassAuthorization, kChunkedRequest, kScriptReloading,
                        kErrorOverride,     kEnableSendfile, kPassApacheRequest,
                        kRestrictEmbedded,  kRestrictSignal, kGroupAuthoritative,
                        kDontWriteBytecode, kRestrictStdin,  kRestrictStdout};

// How Python starts in the children: one setting for the whole process (main server only).
const char* set_startup_flag(cmd_parms* cmd, bool* setting, int on) {
  if (const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY)) return err;
  *setting = on != 0;
  return nullptr;
}

const char* directive_flag(cmd_parms* cmd, void* mconfig, int on) {
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  switch (*static_cast<const int*>(cmd->info)) {
    case kPassAuthorization:
      w->pass_authorization = flag(on);
      break;
    case kChunkedRequest:
      w->chunked_request = flag(on);
      break;
    case kScriptReloading:
      w->script_reloading = flag(on);
      break;
    case kErrorOverride:
      w->error_override = flag(on);
      break;
    case kEnableSendfile:
      w->enable_sendfile = flag(on);
      break;
    case kPassApacheRequest:
      w->pass_apache_request = flag(on);
      break;
    case kRestrictEmbedded:
      apache::wsgi_globals().restrict_embedded = on != 0;
      break;
    case kRestrictSignal:
      apache::wsgi_globals().restrict_signal = on != 0;
      break;
    case kDontWriteBytecode:
      return set_startup_flag(cmd, &apache::wsgi_globals().dont_write_bytecode, on);
    case kRestrictStdin:
      return set_startup_flag(cmd, &apache::wsgi_globals().restrict_stdin, on);
    case kRestrictStdout:
      return set_startup_flag(cmd, &apache::wsgi_globals().restrict_stdout, on);
    case kGroupAuthoritative:
      // httpd 2.4 combines Require lines itself (<RequireAny>, <RequireAll>): a provider that
      // gave up its "denied" would open <RequireAll> sections. mod_wsgi ignores it there too.
      if (on == 0)
        warn_no_effect(cmd,
                       "a user outside the groups is always refused; combine "
                       "Require lines with <RequireAny> instead");
      break;
    default:
      break;
  }
  return nullptr;
}

const char* directive_map_head(cmd_parms* cmd, void* mconfig, const char* value) {
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  if (strcasecmp(value, "On") == 0) {
    w->map_head_to_get = HeadMapping::kOn;
  } else if (strcasecmp(value, "Off") == 0) {
    w->map_head_to_get = HeadMapping::kOff;
  } else if (strcasecmp(value, "Auto") == 0) {
    w->map_head_to_get = HeadMapping::kAuto;
  } else {
    return error(cmd, "must be On, Off or Auto");
  }
  return nullptr;
}

// "(a b c)" or "a" forms: every word, parentheses stripped.
apr_array_header_t* word_list(cmd_parms* cmd, const char* raw) {
  auto* list = apr_array_make(cmd->pool, 4, sizeof(const char*));
  const char* args = raw;
  while (*args != '\0') {
    char* word = ap_getword_conf(cmd->pool, &args);
    if (*word == '\0') break;
    std::string text(word);
    while (!text.empty() && text.front() == '(') text.erase(0, 1);
    while (!text.empty() && text.back() == ')') text.pop_back();
    if (text.empty()) continue;
    *static_cast<const char**>(apr_array_push(list)) = apr_pstrdup(cmd->pool, text.c_str());
  }
  return list;
}

const char* directive_trusted_proxy_headers(cmd_parms* cmd, void* mconfig, const char* raw) {
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  apr_array_header_t* words = word_list(cmd, raw);
  if (words->nelts == 0) return error(cmd, "expects one or more header names");
  auto* out = apr_array_make(cmd->pool, words->nelts, sizeof(const char*));
  for (int i = 0; i < words->nelts; ++i) {
    char* name = apr_pstrdup(cmd->pool, reinterpret_cast<const char**>(words->elts)[i]);
    ap_str_tolower(name);
    *static_cast<const char**>(apr_array_push(out)) = name;
  }
  w->trusted_proxy_headers = out;
  return nullptr;
}

const char* directive_trusted_proxies(cmd_parms* cmd, void* mconfig, const char* raw) {
  WsgiConfig* w = wsgi_of(cmd, mconfig);
  apr_array_header_t* words = word_list(cmd, raw);
  if (words->nelts == 0) return error(cmd, "expects one or more addresses or networks");
  auto* out = apr_array_make(cmd->pool, words->nelts, sizeof(apr_ipsubnet_t*));
  for (int i = 0; i < words->nelts; ++i) {
    std::string spec(reinterpret_cast<const char**>(words->elts)[i]);
    std::string ip = spec;
    const char* mask = nullptr;
    std::size_t slash = spec.find('/');
    if (slash != std::string::npos) {
      ip = spec.substr(0, slash);
      mask = apr_pstrdup(cmd->pool, spec.substr(slash + 1).c_str());
    }
    apr_ipsubnet_t* subnet = nullptr;
    if (apr_ipsubnet_create(&subnet, apr_pstrdup(cmd->pool, ip.c_str()), mask, cmd->pool) !=
        APR_SUCCESS) {
      return error(cmd, "invalid address or network '" + spec + "'");
    }
    *static_cast<apr_ipsubnet_t**>(apr_array_push(out)) = subnet;
  }
  w->trusted_proxies = out;
  return nullptr;
}

const char* directive_python_path(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err != nullptr) return err;
  *static_cast<const char**>(apr_array_push(globals(cmd->pool).python_paths)) = value;
  return nullptr;
}

// WSGIPythonHome: a Python 3.11 installation or virtual environment (spec §11). Its
// site-packages are added to every interpreter's path.
const char* directive_python_home(cmd_parms* cmd, void* /*mconfig*/, const char* value) {
  const char* err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
  if (err != nullptr) return err;
  std::string home(value);
  std::size_t colon = home.find(':');
  if (colon != std::string::npos) home.resize(colon);
  while (home.size() > 1 && home.back() == '/') home.pop_back();
  apr_finfo_t info;
  std::string lib = home + "/lib/python3.11";
  if (apr_stat(&info, lib.c_str(), APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
      info.filetype != APR_DIR) {
    return error(cmd, "'" + home +
                          "' is not a Python 3.11 installation or virtual environment (no " + lib +
                          "); this module embeds Python 3.11");
  }
  std::string site = lib + "/site-packages";
  if (apr_stat(&info, site.c_str(), APR_FINFO_TYPE, cmd->temp_pool) == APR_SUCCESS &&
      info.filetype == APR_DIR) {
    globals(cmd->pool).home_site_packages = apr_pstrdup(cmd->pool, site.c_str());
  }
  return nullptr;
}

const char* directive_unsupported(cmd_parms* cmd, void* /*mconfig*/, const char* /*raw*/) {
  return error(cmd, static_cast<const char*>(cmd->info));
}

// Accepted for compatibility, with a warning.
const char* directive_no_effect(cmd_parms* cmd, void* /*mconfig*/, const char* /*raw*/) {
  warn_no_effect(cmd, static_cast<const char*>(cmd->info));
  return nullptr;
}

template <typename F>
cmd_func as_cmd(F f) {
  return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(f));
}

void* info(const char* text) { return const_cast<char*>(text); }
void* flag_info(int which) { return const_cast<int*>(&kFlagIds[which]); }
void* hook_info(int which) { return const_cast<int*>(&kHookScriptIds[which]); }

constexpr int kFileInfo = RSRC_CONF | ACCESS_CONF | OR_FILEINFO;
constexpr int kServerDir = RSRC_CONF | ACCESS_CONF;
constexpr int kAuthConf = ACCESS_CONF | OR_AUTHCFG;

}  // namespace

WsgiConfig* merge_wsgi_config(apr_pool_t* pool, WsgiConfig* base, WsgiConfig* add) {
  if (add == nullptr) return base;
  if (base == nullptr) return add;
  auto* m = static_cast<WsgiConfig*>(apr_palloc(pool, sizeof(WsgiConfig)));
  auto pick = [](Tristate a, Tristate b) { return a != Tristate::kUnset ? a : b; };
  // As mod_alias (and mod_wsgi): a virtual host's own aliases first, then the main server's.
  if (add->aliases != nullptr && base->aliases != nullptr) {
    m->aliases = apr_array_append(pool, add->aliases, base->aliases);
  } else {
    m->aliases = add->aliases != nullptr ? add->aliases : base->aliases;
  }
  m->application_group =
      add->application_group != nullptr ? add->application_group : base->application_group;
  m->callable_object =
      add->callable_object != nullptr ? add->callable_object : base->callable_object;
  m->process_group = add->process_group != nullptr ? add->process_group : base->process_group;
  m->pass_authorization = pick(add->pass_authorization, base->pass_authorization);
  m->chunked_request = pick(add->chunked_request, base->chunked_request);
  m->script_reloading = pick(add->script_reloading, base->script_reloading);
  m->error_override = pick(add->error_override, base->error_override);
  m->enable_sendfile = pick(add->enable_sendfile, base->enable_sendfile);
  m->pass_apache_request = pick(add->pass_apache_request, base->pass_apache_request);
  m->map_head_to_get =
      add->map_head_to_get != HeadMapping::kUnset ? add->map_head_to_get : base->map_head_to_get;
  m->trusted_proxy_headers = add->trusted_proxy_headers != nullptr ? add->trusted_proxy_headers
                                                                   : base->trusted_proxy_headers;
  m->trusted_proxies =
      add->trusted_proxies != nullptr ? add->trusted_proxies : base->trusted_proxies;
  m->access_script = add->access_script != nullptr ? add->access_script : base->access_script;
  m->auth_user_script =
      add->auth_user_script != nullptr ? add->auth_user_script : base->auth_user_script;
  m->auth_group_script =
      add->auth_group_script != nullptr ? add->auth_group_script : base->auth_group_script;
  // The nearest section's handler scripts are found first.
  if (add->handler_scripts != nullptr && base->handler_scripts != nullptr) {
    m->handler_scripts = apr_array_append(pool, add->handler_scripts, base->handler_scripts);
  } else {
    m->handler_scripts =
        add->handler_scripts != nullptr ? add->handler_scripts : base->handler_scripts;
  }
  m->dispatch_script =
      add->dispatch_script != nullptr ? add->dispatch_script : base->dispatch_script;
  return m;
}

void reset_wsgi_globals() noexcept { apache::wsgi_globals() = apache::WsgiGlobals{}; }

#define MP_WSGI_FLAG(name, which, where, help) \
  AP_INIT_FLAG(name, as_cmd(directive_flag), flag_info(which), where, help)
#define MP_WSGI_UNSUPPORTED(name, where, why) \
  AP_INIT_RAW_ARGS(name, as_cmd(directive_unsupported), info(why), where, why)
#define MP_WSGI_NO_EFFECT(name, where, why) \
  AP_INIT_RAW_ARGS(name, as_cmd(directive_no_effect), info(why), where, why)

namespace {
constexpr const char* kDaemonOnly =
    "daemon mode is not yet supported by this module (embedded mode only)";
}  // namespace

const command_rec* wsgi_commands() noexcept {
  // A function-local table: initialised on first use, whatever the order of static
  // initialisation across files.
  static const command_rec commands[] = {
      AP_INIT_RAW_ARGS("WSGIScriptAlias", as_cmd(directive_script_alias), nullptr, RSRC_CONF,
                       "URL-path script-file-or-directory [process-group=] [application-group=] "
                       "[callable-object=] [pass-authorization=]"),
      AP_INIT_RAW_ARGS("WSGIScriptAliasMatch", as_cmd(directive_script_alias_match), nullptr,
                       RSRC_CONF, "regex script-file-or-directory [options]"),
      AP_INIT_RAW_ARGS("WSGIImportScript", as_cmd(directive_import_script), nullptr, RSRC_CONF,
                       "script process-group=%{GLOBAL} application-group=name"),
      AP_INIT_TAKE1("WSGIApplicationGroup", as_cmd(directive_application_group), nullptr,
                    kServerDir, "%{GLOBAL}, %{SERVER}, %{RESOURCE}, %{HOST}, %{ENV:var} or a name"),
      AP_INIT_TAKE1("WSGICallableObject", as_cmd(directive_callable_object), nullptr, kFileInfo,
                    "name of the WSGI application object in the script (default application)"),
      AP_INIT_TAKE1("WSGIProcessGroup", as_cmd(directive_process_group), nullptr, kServerDir,
                    "%{GLOBAL} (embedded mode)"),
      MP_WSGI_FLAG("WSGIPassAuthorization", kPassAuthorization, kFileInfo,
                   "pass the Authorization header to the application"),
      MP_WSGI_FLAG("WSGIChunkedRequest", kChunkedRequest, kFileInfo,
                   "accept chunked request bodies (default On)"),
      MP_WSGI_FLAG("WSGIScriptReloading", kScriptReloading, kFileInfo,
                   "reload a WSGI script when its modification time changes (default On)"),
      MP_WSGI_FLAG("WSGIErrorOverride", kErrorOverride, kFileInfo,
                   "Apache error documents replace application error responses"),
      MP_WSGI_FLAG("WSGIEnableSendfile", kEnableSendfile, kFileInfo,
                   "allow sendfile() for wsgi.file_wrapper"),
      MP_WSGI_FLAG("WSGIPassApacheRequest", kPassApacheRequest, kServerDir,
                   "accepted; the request_rec capsule is not provided"),
      MP_WSGI_FLAG("WSGIRestrictEmbedded", kRestrictEmbedded, RSRC_CONF,
                   "refuse to run WSGI applications in the Apache children"),
      MP_WSGI_FLAG("WSGIRestrictSignal", kRestrictSignal, RSRC_CONF,
                   "signal.signal() in applications logs a warning and does nothing (default On)"),
      AP_INIT_TAKE1("WSGIMapHEADToGET", as_cmd(directive_map_head), nullptr, kFileInfo,
                    "On, Off or Auto"),
      AP_INIT_RAW_ARGS("WSGITrustedProxyHeaders", as_cmd(directive_trusted_proxy_headers), nullptr,
                       kFileInfo, "forwarding headers to honour"),
      AP_INIT_RAW_ARGS("WSGITrustedProxies", as_cmd(directive_trusted_proxies), nullptr, kFileInfo,
                       "addresses or networks of trusted proxies"),
      AP_INIT_TAKE1("WSGIPythonPath", as_cmd(directive_python_path), nullptr, RSRC_CONF,
                    "directories added to sys.path with site.addsitedir (':' separated)"),
      AP_INIT_TAKE1("WSGIPythonHome", as_cmd(directive_python_home), nullptr, RSRC_CONF,
                    "a Python 3.11 prefix or virtual environment"),
      MP_WSGI_UNSUPPORTED("WSGIDaemonProcess", RSRC_CONF, kDaemonOnly),
      MP_WSGI_UNSUPPORTED("WSGIRestrictProcess", kServerDir, kDaemonOnly),
      MP_WSGI_NO_EFFECT("WSGISocketPrefix", RSRC_CONF, kDaemonOnly),
      MP_WSGI_NO_EFFECT("WSGISocketRotation", RSRC_CONF, kDaemonOnly),
      MP_WSGI_NO_EFFECT("WSGIAcceptMutex", RSRC_CONF, kDaemonOnly),
      AP_INIT_RAW_ARGS("WSGIHandlerScript", as_cmd(directive_handler_script), nullptr, kServerDir,
                       "name script [application-group=] [pass-authorization=]: a handler "
                       "for SetHandler/AddHandler served by the script's handle_request()"),
      AP_INIT_RAW_ARGS("WSGIDispatchScript", as_cmd(directive_hook_script),
                       hook_info(kDispatchScript), kServerDir,
                       "script whose application_group(environ) / callable_object(environ) "
                       "choose per request [application-group=]"),
      AP_INIT_RAW_ARGS("WSGIAccessScript", as_cmd(directive_hook_script), hook_info(kAccessScript),
                       kAuthConf, "script with allow_access(environ, host) [application-group=]"),
      AP_INIT_RAW_ARGS("WSGIAuthUserScript", as_cmd(directive_hook_script),
                       hook_info(kAuthUserScript), kAuthConf,
                       "script with check_password() / get_realm_hash() for the 'wsgi' "
                       "authentication provider [application-group=]"),
      AP_INIT_RAW_ARGS("WSGIAuthGroupScript", as_cmd(directive_hook_script),
                       hook_info(kAuthGroupScript), kAuthConf,
                       "script with groups_for_user() for Require wsgi-group "
                       "[application-group=]"),
      MP_WSGI_FLAG("WSGIGroupAuthoritative", kGroupAuthoritative, kAuthConf,
                   "Off: a user outside the wsgi-group groups is left to other Require lines"),
      AP_INIT_TAKE1("WSGIPythonEggs", as_cmd(directive_python_eggs), nullptr, RSRC_CONF,
                    "directory for PYTHON_EGG_CACHE"),
      AP_INIT_TAKE1("WSGIPythonOptimize", as_cmd(directive_python_optimize), nullptr, RSRC_CONF,
                    "0, 1 or 2: Python's optimisation level (-O, -OO)"),
      AP_INIT_TAKE1("WSGIPythonHashSeed", as_cmd(directive_python_hash_seed), nullptr, RSRC_CONF,
                    "random or 0..4294967295 (PYTHONHASHSEED)"),
      AP_INIT_TAKE1("WSGIPythonWarnings", as_cmd(directive_python_warnings), nullptr, RSRC_CONF,
                    "a warning filter, as for python -W (repeatable)"),
      MP_WSGI_FLAG("WSGIDontWriteBytecode", kDontWriteBytecode, RSRC_CONF,
                   "On: no .pyc files are written"),
      MP_WSGI_NO_EFFECT("WSGIDestroyInterpreter", RSRC_CONF,
                        "interpreters are never finalised; shutdown callbacks still run"),
      MP_WSGI_FLAG("WSGIRestrictStdin", kRestrictStdin, RSRC_CONF,
                   "On: any use of sys.stdin raises OSError"),
      MP_WSGI_FLAG("WSGIRestrictStdout", kRestrictStdout, RSRC_CONF,
                   "On: any use of sys.stdout raises OSError"),
      MP_WSGI_NO_EFFECT("WSGICaseSensitivity", RSRC_CONF, "script paths are case sensitive"),
      AP_INIT_TAKE1("WSGISwitchInterval", as_cmd(directive_switch_interval), nullptr, RSRC_CONF,
                    "seconds: sys.setswitchinterval() at start"),
      MP_WSGI_NO_EFFECT("WSGIPerInterpreterGIL", RSRC_CONF, "needs Python 3.12 or later"),
      MP_WSGI_NO_EFFECT("WSGIFreeThreading", RSRC_CONF, "needs a free-threaded Python build"),
      MP_WSGI_NO_EFFECT("WSGIVerboseDebugging", RSRC_CONF, "use LogLevel python:debug"),
      MP_WSGI_NO_EFFECT("WSGILazyInitialization", RSRC_CONF,
                        "Python is always initialised lazily in the children"),
      MP_WSGI_NO_EFFECT("WSGIServerMetrics", RSRC_CONF, "metrics are not implemented"),
      MP_WSGI_NO_EFFECT("WSGISlowRequests", RSRC_CONF, "not implemented"),
      MP_WSGI_NO_EFFECT("WSGIIgnoreActivity", kFileInfo, kDaemonOnly),
      MP_WSGI_NO_EFFECT("WSGITelemetryService", RSRC_CONF, "telemetry is not implemented"),
      MP_WSGI_NO_EFFECT("WSGITelemetryOptions", RSRC_CONF, "telemetry is not implemented"),
      MP_WSGI_NO_EFFECT("WSGINewRelicConfigFile", RSRC_CONF, "New Relic support was removed"),
      MP_WSGI_NO_EFFECT("WSGINewRelicEnvironment", RSRC_CONF, "New Relic support was removed"),
      {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
  };
  return commands;
}

#undef MP_WSGI_FLAG
#undef MP_WSGI_UNSUPPORTED
#undef MP_WSGI_NO_EFFECT

}  // namespace mp::module
