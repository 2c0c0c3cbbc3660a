#include "common/config/main_cf.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <set>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/base/logical_lines.h"

namespace tern::config {

namespace {

// Bounds that keep a hostile or mistaken main.cf (a = $b$b$b..., deeply
// nested ${x:${y:...}}) from exhausting memory or the stack.
constexpr size_t kMaxExpanded = 1 << 20;
constexpr int kMaxNesting = 64;

bool bare_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string shorten(std::string_view s) {
  if (s.size() <= 60) return std::string(s);
  return std::string(s.substr(0, 57)) + "...";
}

std::string compute_hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost.localdomain";
  std::string name = buf;
  if (name.find('.') != std::string::npos) return name;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0 && res) {
    std::string canon = res->ai_canonname ? res->ai_canonname : "";
    freeaddrinfo(res);
    if (canon.find('.') != std::string::npos) return canon;
  }
  return name + ".localdomain";
}

// Finds the ")" or "}" closing the "(" or "{" at value[open]; npos if none
// or nested too deeply.
size_t matching_close(std::string_view value, size_t open) {
  char o = value[open];
  char c = o == '{' ? '}' : ')';
  int depth = 0;
  for (size_t i = open; i < value.size(); ++i) {
    if (value[i] == o) {
      if (++depth > kMaxNesting) return std::string_view::npos;
    } else if (value[i] == c && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

Status check_type(const ParamDef& def, const std::string& value) {
  auto bad = [&](const char* what) { return invalid(strf("\"%s\" is not %s", shorten(value).c_str(), what)); };
  switch (def.type) {
    case ParamType::kInt:
    case ParamType::kSize: {
      auto n = parse_int(value);
      if (!n || *n < 0) return bad(def.type == ParamType::kInt ? "a non-negative integer" : "a size in bytes");
      break;
    }
    case ParamType::kBool:
      if (!parse_bool(value)) return bad("yes or no");
      break;
    case ParamType::kTime:
      if (!parse_duration(value)) return bad("a time (e.g. 30s, 5m, 2h, 1d, 1w)");
      break;
    case ParamType::kString:
    case ParamType::kList:
      break;
  }
  if (!def.choices.empty()) {
    auto allowed = split_any(def.choices, " ");
    auto words = def.type == ParamType::kList ? split_any(value, ", \t\r\n") : std::vector<std::string_view>{value};
    for (auto w : words)
      if (std::find(allowed.begin(), allowed.end(), w) == allowed.end())
        return invalid(strf("\"%s\" is not one of: %s", std::string(w).c_str(), std::string(def.choices).c_str()));
  }
  return {};
}

}  // namespace

const std::string& system_hostname() {
  static const std::string name = compute_hostname();
  return name;
}

Result<MainCf> MainCf::parse(std::string_view text, const std::string& filename,
                             std::vector<std::string>* warnings) {
  MainCf cf;
  cf.filename_ = filename;
  auto lines = read_logical_lines(text, filename);
  if (!lines) return lines.take_error();
  for (const LogicalLine& l : *lines) {
    const char* file = filename.c_str();
    size_t eq = l.text.find('=');
    if (eq == std::string::npos)
      return invalid(strf("%s:%d: missing '=' after parameter name: \"%s\"", file, l.line, shorten(l.text).c_str()));
    std::string name(trim(std::string_view(l.text).substr(0, eq)));
    std::string value(trim(std::string_view(l.text).substr(eq + 1)));
    if (name.empty()) return invalid(strf("%s:%d: missing parameter name before '='", file, l.line));
    if (!valid_param_name(name))
      return invalid(strf("%s:%d: invalid parameter name \"%s\" (letters, digits, '_', '-' and '.' only)", file,
                          l.line, shorten(name).c_str()));
    auto old = cf.settings_.find(name);
    if (old != cf.settings_.end() && warnings)
      warnings->push_back(strf("%s:%d: overriding earlier entry: %s (line %d)", file, l.line, name.c_str(),
                               old->second.line));
    if (warnings && !find_param(name) && !is_per_transport_param(name)) warnings->push_back(strf("%s:%d: unknown parameter %s", file, l.line, name.c_str()));
    cf.settings_[name] = Setting{std::move(value), l.line};
  }
  return cf;
}

Result<MainCf> MainCf::load(const std::string& config_dir, std::vector<std::string>* warnings) {
  std::string path = config_dir + "/main.cf";
  auto text = read_file(path);
  if (!text) return text.take_error();
  auto cf = parse(*text, path, warnings);
  if (!cf) return cf;
  cf->define("config_directory", config_dir);
  return cf;
}

void MainCf::set(std::string_view name, std::string_view value) {
  settings_[std::string(name)] = Setting{std::string(value), 0};
}

void MainCf::define(std::string_view name, std::string_view default_value) {
  extra_defaults_[std::string(name)] = std::string(default_value);
}

std::vector<std::string> MainCf::unknown_warnings() const {
  std::vector<std::string> out;
  for (const auto& [name, s] : settings_) {
    if (known(name) || is_per_transport_param(name)) continue;
    if (s.line > 0)
      out.push_back(strf("%s:%d: unknown parameter %s", filename_.c_str(), s.line, name.c_str()));
    else
      out.push_back("-o: unknown parameter " + name);
  }
  return out;
}

bool MainCf::known(std::string_view name) const {
  return find_param(name) != nullptr || extra_defaults_.find(name) != extra_defaults_.end();
}

std::vector<std::string> MainCf::known_names() const {
  std::set<std::string> names;
  for (const auto& d : param_table()) names.insert(std::string(d.name));
  for (const auto& [name, v] : extra_defaults_) names.insert(name);
  return {names.begin(), names.end()};
}

std::optional<std::string> MainCf::default_raw(std::string_view name) const {
  if (auto it = extra_defaults_.find(name); it != extra_defaults_.end()) return it->second;
  const ParamDef* def = find_param(name);
  if (!def) return std::nullopt;
  if (def->default_value != kComputedDefault) return std::string(def->default_value);
  if (name == "myhostname") return system_hostname();
  if (name == "mydomain") {
    // Postfix derives mydomain from the effective myhostname.
    std::string host = str("myhostname");
    size_t dot = host.find('.');
    if (dot == std::string::npos || dot + 1 == host.size()) return std::string("localdomain");
    return host.substr(dot + 1);
  }
  log::panic("parameter %.*s: no way to compute its default", static_cast<int>(name.size()), name.data());
}

int MainCf::line_of(std::string_view name) const {
  auto it = settings_.find(name);
  return it == settings_.end() ? 0 : it->second.line;
}

bool MainCf::is_set(std::string_view name) const { return settings_.find(name) != settings_.end(); }

std::optional<std::string> MainCf::raw(std::string_view name) const {
  auto it = settings_.find(name);
  if (it == settings_.end()) return std::nullopt;
  return it->second.value;
}

std::vector<std::string> MainCf::set_names() const {
  std::vector<std::string> out;
  for (const auto& [name, s] : settings_) out.push_back(name);
  return out;
}

Result<std::string> MainCf::lookup(std::string_view name, ExpandState& st) const {
  if (auto it = st.done.find(name); it != st.done.end()) return it->second;
  auto& chain = st.chain;
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    std::vector<std::string> loop(std::find(chain.begin(), chain.end(), name), chain.end());
    loop.emplace_back(name);
    return invalid(strf("%s: parameter expansion loop: %s", filename_.c_str(), join(loop, " -> ").c_str()));
  }
  std::string raw_value;
  if (auto it = settings_.find(name); it != settings_.end()) {
    raw_value = it->second.value;
  } else if (auto def = find_param(name); def && def->default_value == kComputedDefault &&
                                          extra_defaults_.find(name) == extra_defaults_.end()) {
    if (name == "mydomain") {
      chain.emplace_back(name);
      auto host = lookup("myhostname", st);
      chain.pop_back();
      if (!host) return host;
      size_t dot = host->find('.');
      return (dot == std::string::npos || dot + 1 == host->size()) ? std::string("localdomain")
                                                                  : host->substr(dot + 1);
    }
    raw_value = *default_raw(name);
  } else {
    raw_value = default_raw(name).value_or("");
  }
  chain.emplace_back(name);
  auto out = expand_depth(raw_value, st);
  chain.pop_back();
  if (out) st.done.emplace(std::string(name), *out);
  return out;
}

Result<std::string> MainCf::expand_depth(std::string_view value, ExpandState& st) const {
  const auto& chain = st.chain;
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (out.size() > kMaxExpanded)
      return make_error(Errc::kLimit, strf("%s: parameter expansion longer than %zu bytes%s%s", filename_.c_str(),
                                           kMaxExpanded, chain.empty() ? "" : " in ",
                                           chain.empty() ? "" : chain.front().c_str()));
    char c = value[i];
    if (c != '$' || i + 1 == value.size()) {
      out += c;
      ++i;
      continue;
    }
    char next = value[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
    } else if (next == '{' || next == '(') {
      size_t close = matching_close(value, i + 1);
      if (close == std::string_view::npos)
        return invalid(strf("%s: unbalanced or too deeply nested '%c' in \"%s\"", filename_.c_str(), next,
                            shorten(value).c_str()));
      std::string_view inner = value.substr(i + 2, close - i - 2);
      size_t op = inner.find_first_of("?:");
      std::string_view name = trim(inner.substr(0, op));
      if (!valid_param_name(name))
        return invalid(strf("%s: invalid parameter name in \"$%c%s%c\"", filename_.c_str(), next,
                            shorten(inner).c_str(), next == '{' ? '}' : ')'));
      auto v = lookup(name, st);
      if (!v) return v;
      if (op == std::string_view::npos) {
        out += *v;
      } else if ((inner[op] == '?') == !v->empty()) {
        // ${name?value}: value when name is non-empty; ${name:value}: when empty.
        auto alt = expand_depth(inner.substr(op + 1), st);
        if (!alt) return alt;
        out += *alt;
      }
      i = close + 1;
    } else if (bare_name_char(next)) {
      size_t end = i + 1;
      while (end < value.size() && bare_name_char(value[end])) ++end;
      auto v = lookup(value.substr(i + 1, end - i - 1), st);
      if (!v) return v;
      out += *v;
      i = end;
    } else {
      out += '$';
      ++i;
    }
  }
  return out;
}

Result<std::string> MainCf::expand(std::string_view value) const {
  ExpandState st;
  return expand_depth(value, st);
}

Result<std::string> MainCf::expanded(std::string_view name) const {
  ExpandState st;
  return lookup(name, st);
}

std::string MainCf::str(std::string_view name) const {
  auto v = expanded(name);
  // validate() at startup rejects loops; reaching this is a program bug.
  if (!v) log::panic("%s (validate() not called?)", v.error().text.c_str());
  return std::move(v).value();
}

long long MainCf::integer(std::string_view name) const {
  if (!known(name)) log::panic("integer(): unknown parameter %.*s", static_cast<int>(name.size()), name.data());
  std::string v = str(name);
  auto n = parse_int(v);
  if (!n) log::panic("parameter %.*s = %s: not an integer", static_cast<int>(name.size()), name.data(), v.c_str());
  return *n;
}

bool MainCf::boolean(std::string_view name) const {
  if (!known(name)) log::panic("boolean(): unknown parameter %.*s", static_cast<int>(name.size()), name.data());
  std::string v = str(name);
  auto b = parse_bool(v);
  if (!b) log::panic("parameter %.*s = %s: not yes or no", static_cast<int>(name.size()), name.data(), v.c_str());
  return *b;
}

std::chrono::seconds MainCf::seconds(std::string_view name) const {
  if (!known(name)) log::panic("seconds(): unknown parameter %.*s", static_cast<int>(name.size()), name.data());
  std::string v = str(name);
  auto d = parse_duration(v);
  if (!d) log::panic("parameter %.*s = %s: not a time", static_cast<int>(name.size()), name.data(), v.c_str());
  return std::chrono::seconds(*d);
}

std::vector<std::string> MainCf::list(std::string_view name) const {
  std::string v = str(name);
  std::vector<std::string> out;
  for (auto part : split_any(v, ", \t\r\n")) out.emplace_back(part);
  return out;
}

std::string MainCf::where(std::string_view name) const {
  auto it = settings_.find(name);
  if (it == settings_.end()) return "default";
  if (it->second.line == 0) return "-o " + std::string(name);
  return strf("%s:%d", filename_.c_str(), it->second.line);
}

Status MainCf::validate(std::string_view name) const {
  auto v = expanded(name);
  if (!v) return v.take_error();  // names the file and the loop already
  const ParamDef* def = find_param(name);
  // define()d parameters have no type here; their program checks them.
  if (!def) return {};
  if (auto st = check_type(*def, *v); !st)
    return invalid(strf("%s: bad value for %.*s: %s", where(name).c_str(), static_cast<int>(name.size()),
                        name.data(), st.error().text.c_str()));
  return {};
}

Status MainCf::validate() const {
  for (const auto& name : known_names())
    if (auto st = validate(name); !st) return st;
  for (const auto& [name, s] : settings_)
    if (auto st = validate(name); !st) return st;
  return {};
}

std::string edit_main_cf(std::string_view text, std::string_view name, std::string_view value) {
  std::string setting = std::string(name) + " =";
  if (!value.empty()) setting += " " + std::string(value);
  std::string out;
  bool replaced = false;
  bool dropping = false;  // inside a logical line of `name` being replaced or removed
  for (std::string_view line : physical_lines(text)) {
    LineKind kind = classify_line(line);
    if (kind == LineKind::kStart) {
      size_t eq = line.find('=');
      dropping = eq != std::string_view::npos && trim(line.substr(0, eq)) == name;
      if (dropping && !replaced) {
        out += setting;
        out += '\n';
        replaced = true;
        continue;
      }
    }
    if (dropping && kind != LineKind::kBlankOrComment) continue;
    out += line;
    out += '\n';
  }
  if (!replaced) {
    out += setting;
    out += '\n';
  }
  return out;
}

}  // namespace tern::config
