#include "common/config/master_cf.h"

#include <cctype>
#include <map>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/base/logical_lines.h"

namespace tern::config {

namespace {

struct Token {
  std::string text;
  bool braced = false;  // written as "{ text }"
};

// Where errors and warnings point: "file:line".
struct Where {
  const std::string& file;
  int line;
  Error error(const std::string& what) const { return invalid(strf("%s:%d: %s", file.c_str(), line, what.c_str())); }
  std::string text(const std::string& what) const { return strf("%s:%d: %s", file.c_str(), line, what.c_str()); }
};

Result<std::vector<Token>> tokenize(std::string_view s, const Where& at) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    if (s[i] == '{') {
      // Postfix 3: "{ text }" is one argument that may hold white space.
      int depth = 0;
      size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == '{') ++depth;
        if (s[j] == '}' && --depth == 0) break;
      }
      if (j == s.size()) return at.error("missing '}' after '{'");
      out.push_back({std::string(trim(s.substr(i + 1, j - i - 1))), true});
      i = j + 1;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    out.push_back({std::string(s.substr(i, j - i)), false});
    i = j;
  }
  return out;
}

Result<bool> parse_yn(const std::string& v, bool dflt, const char* column, const Where& at) {
  if (v == "-") return dflt;
  if (v == "y") return true;
  if (v == "n") return false;
  return at.error(strf("bad %s column \"%s\" (expected y, n or -)", column, v.c_str()));
}

// main.cf value by name, as a Result: master.cf may be read before the
// caller validated main.cf, and a loop must not panic here.
Result<std::string> main_value(const MainCf& main, const char* name) { return main.expand(strf("${%s}", name)); }

bool has_dotdot(std::string_view path) {
  for (auto part : split(path, '/'))
    if (part == "..") return true;
  return false;
}

bool valid_account(std::string_view s) {
  if (s.empty() || s.front() == '-') return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

Status parse_port(const std::string& port, const Where& at) {
  if (port.empty()) return at.error("inet service without a port");
  bool digits = true;
  for (char c : port) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return at.error("bad port \"" + port + "\"");
    if (!std::isdigit(static_cast<unsigned char>(c))) digits = false;
  }
  if (digits) {
    auto n = parse_int(port);
    if (!n || *n < 1 || *n > 65535) return at.error("port out of range: " + port);
  }
  return {};
}

// inet: "port", "host:port" or "[v6]:port".
Status resolve_inet_name(ServiceEntry& e, const Where& at) {
  const std::string& n = e.name;
  if (!n.empty() && n.front() == '[') {
    size_t close = n.find("]:");
    if (close == std::string::npos) return at.error("bad inet service \"" + n + "\" (expected [address]:port)");
    e.host = n.substr(1, close - 1);
    e.port = n.substr(close + 2);
    if (e.host.empty()) return at.error("empty address in \"" + n + "\"");
  } else if (size_t colon = n.rfind(':'); colon != std::string::npos) {
    e.host = n.substr(0, colon);
    e.port = n.substr(colon + 1);
    if (e.host.find(':') != std::string::npos)
      return at.error("IPv6 address needs brackets: \"[" + e.host + "]:" + e.port + "\"");
  } else {
    e.port = n;
  }
  for (char c : e.host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '[' || c == ']')
      return at.error("bad host in inet service \"" + n + "\"");
  return parse_port(e.port, at);
}

// unix and pass: a path under queue_directory.
Status resolve_socket_path(ServiceEntry& e, const Where& at) {
  const std::string& n = e.name;
  if (n.find('/') == std::string::npos) {
    if (n == "." || n == "..") return at.error("bad service name \"" + n + "\"");
    e.socket_path = (e.private_ ? "private/" : "public/") + n;
    return {};
  }
  if (n.front() == '/') return at.error("socket path must be relative to queue_directory: \"" + n + "\"");
  if (has_dotdot(n) || n.back() == '/' || n.find("//") != std::string::npos)
    return at.error("bad socket path \"" + n + "\"");
  e.socket_path = n;
  return {};
}

struct Reserved {
  std::map<std::string, std::string> values;  // tern_* name -> expanded value
};

Status apply_reserved(ServiceEntry& e, const Reserved& r, const MainCf& main, const Where& at,
                      std::vector<std::string>* warnings) {
  auto get = [&](const char* k) -> const std::string* {
    auto it = r.values.find(k);
    return it == r.values.end() ? nullptr : &it->second;
  };
  if (auto u = get("tern_user")) {
    if (!valid_account(*u)) return at.error("bad tern_user \"" + *u + "\"");
    e.user = *u;
  } else if (e.unpriv) {
    auto owner = main_value(main, "mail_owner");
    if (!owner) return at.error(owner.error().text);
    e.user = *owner;
  }
  for (auto [key, field] : {std::pair{"tern_listen_owner", &e.listen_owner}, std::pair{"tern_listen_group", &e.listen_group}}) {
    if (auto v = get(key)) {
      if (!valid_account(*v)) return at.error(strf("bad %s \"%s\"", key, v->c_str()));
      *field = *v;
    }
  }
  if (auto m = get("tern_listen_mode")) {
    bool ok = !m->empty() && m->size() <= 4 && m->find_first_not_of("01234567") == std::string::npos;
    long mode = ok ? std::strtol(m->c_str(), nullptr, 8) : -1;
    if (!ok || mode > 0777) return at.error("bad tern_listen_mode \"" + *m + "\" (an octal mode from 0 to 0777)");
    e.listen_mode = static_cast<int>(mode);
  }
  if (e.type == ServiceType::kInet && warnings &&
      (get("tern_listen_owner") || get("tern_listen_group") || get("tern_listen_mode")))
    warnings->push_back(at.text("tern_listen_owner, tern_listen_group and tern_listen_mode are ignored for inet"));
  auto dir = get("tern_chroot_dir");
  if (dir && !e.chroot) return at.error("tern_chroot_dir needs y in the chroot column");
  if (e.chroot) {
    auto queue = main_value(main, "queue_directory");
    if (!queue) return at.error(queue.error().text);
    if (!dir) {
      e.chroot_dir = *queue;
    } else {
      if (dir->empty() || has_dotdot(*dir)) return at.error("bad tern_chroot_dir \"" + *dir + "\"");
      e.chroot_dir = dir->front() == '/' ? *dir : *queue + "/" + *dir;
    }
  }
  return {};
}

constexpr const char* kReservedNames[] = {"tern_user", "tern_listen_owner", "tern_listen_group", "tern_listen_mode",
                                          "tern_chroot_dir"};

// One "-o" argument's "name=value" (braced: "{ name = value }").
Status add_override(ServiceEntry& e, Reserved& r, const Token& nv, const MainCf& main, const Where& at,
                    std::vector<std::string>* warnings) {
  size_t eq = nv.text.find('=');
  if (eq == std::string::npos) return at.error("-o " + nv.text + ": expected name=value");
  std::string name(nv.braced ? trim(std::string_view(nv.text).substr(0, eq)) : std::string_view(nv.text).substr(0, eq));
  std::string value(nv.braced ? trim(std::string_view(nv.text).substr(eq + 1)) : std::string_view(nv.text).substr(eq + 1));
  if (!valid_param_name(name)) return at.error("-o: invalid parameter name \"" + name + "\"");
  if (name.rfind("tern_", 0) == 0) {
    bool reserved = false;
    for (const char* k : kReservedNames) reserved |= name == k;
    if (!reserved) return at.error("unknown reserved option " + name);
    if (r.values.count(name)) return at.error(name + " given twice");
    auto v = main.expand(value);
    if (!v) return at.error(v.error().text);
    r.values[name] = *v;
    return {};
  }
  if (!main.known(name) && warnings) warnings->push_back(at.text("unknown parameter " + name + " in -o"));
  e.overrides.emplace_back(name, value);
  e.args.push_back("-o");
  e.args.push_back(name + "=" + value);
  return {};
}

Status parse_args(ServiceEntry& e, const std::vector<Token>& tokens, const MainCf& main, const Where& at,
                  std::vector<std::string>* warnings) {
  Reserved reserved;
  for (size_t i = 8; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (!t.braced && t.text == "-o") {
      if (i + 1 == tokens.size()) return at.error("-o without name=value");
      if (auto st = add_override(e, reserved, tokens[++i], main, at, warnings); !st) return st;
    } else if (!t.braced && t.text.size() > 2 && t.text.rfind("-o", 0) == 0) {
      if (auto st = add_override(e, reserved, {t.text.substr(2), false}, main, at, warnings); !st) return st;
    } else {
      auto v = main.expand(t.text);
      if (!v) return at.error(v.error().text);
      e.args.push_back(*v);
    }
  }
  return apply_reserved(e, reserved, main, at, warnings);
}

Status parse_columns(ServiceEntry& e, const std::vector<Token>& tok, const MainCf& main, const Where& at,
                     std::vector<std::string>* warnings) {
  e.name = tok[0].text;
  const std::string& type = tok[1].text;
  if (type == "inet") {
    e.type = ServiceType::kInet;
  } else if (type == "unix") {
    e.type = ServiceType::kUnix;
  } else if (type == "pass") {
    e.type = ServiceType::kPass;
  } else if (type == "unix-dgram" || type == "fifo") {
    return at.error("service type " + type + " is not supported by Tern");
  } else {
    return at.error("unknown service type \"" + type + "\" (expected inet, unix or pass)");
  }
  auto priv = parse_yn(tok[2].text, true, "private", at);
  auto unpriv = parse_yn(tok[3].text, true, "unpriv", at);
  auto chroot = parse_yn(tok[4].text, false, "chroot", at);
  for (auto* r : {&priv, &unpriv, &chroot})
    if (!*r) return r->take_error();
  e.private_ = *priv;
  e.unpriv = *unpriv;
  e.chroot = *chroot;
  if (e.type == ServiceType::kInet) {
    // Postfix: an inet service is never private; "y" there is a mistake.
    if (tok[2].text == "y" && warnings) warnings->push_back(at.text("private=y is ignored for inet service " + e.name));
    e.private_ = false;
  }
  std::string wakeup = tok[5].text;
  if (wakeup != "-") {
    if (!wakeup.empty() && wakeup.back() == '?') wakeup.pop_back();
    auto n = parse_int(wakeup);
    if (!n || *n < 0 || *n > 1'000'000'000) return at.error("bad wakeup column \"" + tok[5].text + "\"");
    e.wakeup = static_cast<int>(*n);
  }
  std::string maxproc = tok[6].text;
  if (maxproc == "-") {
    auto v = main_value(main, "default_process_limit");
    if (!v) return at.error(v.error().text);
    maxproc = *v;
  }
  auto n = parse_int(maxproc);
  if (!n || *n < 0 || *n > 1'000'000) return at.error("bad maxproc \"" + maxproc + "\"");
  e.maxproc = static_cast<int>(*n);
  e.command = tok[7].text;
  if (e.command.find('/') != std::string::npos && e.command.front() != '/')
    return at.error("command \"" + e.command + "\" must be a name in daemon_directory or an absolute path");
  return e.type == ServiceType::kInet ? resolve_inet_name(e, at) : resolve_socket_path(e, at);
}

}  // namespace

std::string ServiceEntry::type_name() const {
  switch (type) {
    case ServiceType::kInet: return "inet";
    case ServiceType::kUnix: return "unix";
    case ServiceType::kPass: return "pass";
  }
  return "?";
}

std::string ServiceEntry::listener_key() const {
  if (type != ServiceType::kInet) return type_name() + ":" + socket_path;
  std::string h = host.empty() ? "*" : host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "inet:" + h + ":" + port;
}

Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text, const std::string& filename,
                                                  const MainCf& main, std::vector<std::string>* warnings) {
  auto lines = read_logical_lines(text, filename);
  if (!lines) return lines.take_error();
  std::vector<ServiceEntry> out;
  std::map<std::string, int> seen;  // "name/type" -> line
  for (const LogicalLine& l : *lines) {
    Where at{filename, l.line};
    auto tokens = tokenize(l.text, at);
    if (!tokens) return tokens.take_error();
    if (tokens->size() < 8)
      return at.error(strf("expected at least 8 columns (service type private unpriv chroot wakeup maxproc "
                           "command), found %zu",
                           tokens->size()));
    for (size_t i = 0; i < 8; ++i)
      if ((*tokens)[i].braced) return at.error("'{' is allowed only in arguments after the command");
    ServiceEntry e;
    e.file = filename;
    e.line = l.line;
    if (auto st = parse_columns(e, *tokens, main, at, warnings); !st) return st.take_error();
    if (auto st = parse_args(e, *tokens, main, at, warnings); !st) return st.take_error();
    std::string key = e.name + "/" + e.type_name();
    if (auto it = seen.find(key); it != seen.end())
      return at.error(strf("duplicate service %s (first at line %d)", key.c_str(), it->second));
    seen[key] = l.line;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<ServiceEntry>> load_master_cf(const std::string& config_dir, const MainCf& main,
                                                 std::vector<std::string>* warnings) {
  std::string path = config_dir + "/master.cf";
  auto text = read_file(path);
  if (!text) return text.take_error();
  return parse_master_cf(*text, path, main, warnings);
}

}  // namespace tern::config
