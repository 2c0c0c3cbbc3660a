#include "common/auth/client_protocol.h"

#include <limits>

#include "common/auth/dovecot_escape.h"
#include "common/base/strings.h"

namespace tern::auth {

std::optional<unsigned> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > std::numeric_limits<unsigned>::max()) return std::nullopt;
  return static_cast<unsigned>(v);
}

std::string format_client_handshake(const HandshakeInfo& h) {
  std::string t = strf("VERSION\t%u\t%u\n", kClientMajor, kClientMinor);
  for (const auto& m : h.mechanisms) {
    t += "MECH\t" + m.name;
    for (const auto& f : m.flags) t += "\t" + f;
    t += "\n";
  }
  t += strf("SPID\t%ld\nCUID\t%u\nCOOKIE\t%s\nDONE\n", h.spid, h.cuid, h.cookie_hex.c_str());
  return t;
}

namespace {

Result<ClientCommand> parse_auth(const std::vector<std::string>& f) {
  // AUTH <id> <mech> [params]
  if (f.size() < 3) return invalid("broken AUTH request");
  auto id = parse_uint(f[1]);
  if (!id) return invalid("broken AUTH request id");
  AuthCommand a;
  a.id = *id;
  a.mech = f[2];
  if (a.mech.empty()) return invalid("AUTH without a mechanism");
  bool have_service = false;
  for (size_t i = 3; i < f.size(); i++) {
    std::string_view p = f[i];
    size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : p.substr(eq + 1);
    if (name == "resp") {
      // Dovecot: resp must be the last parameter.
      if (i + 1 != f.size()) return invalid("AUTH parameters after resp");
      if (value.size() > kMaxSaslBase64) return make_error(Errc::kLimit, "initial response too long");
      a.resp = std::string(value);
    } else if (name == "service") {
      a.service = std::string(value);
      have_service = true;
    } else if (name == "rip") {
      a.rip = std::string(value);
    } else if (name == "lip") {
      a.lip = std::string(value);
    } else if (name == "secured") {
      a.secured = true;
    } else if (name == "nologin") {
      a.nologin = true;
    } else if (name == "valid-client-cert") {
      a.valid_client_cert = true;
    } else {
      a.other.emplace_back(std::string(name), std::string(value));
    }
  }
  if (!have_service || a.service.empty()) return invalid("AUTH request without service");
  return ClientCommand(std::move(a));
}

}  // namespace

Result<ClientCommand> parse_client_line(std::string_view line) {
  if (line.size() > kClientMaxLine) return make_error(Errc::kLimit, "line too long");
  auto fields = split_tab_escaped(line, kMaxFields);
  if (!fields) return fields.take_error();
  const auto& f = *fields;
  const std::string& cmd = f[0];
  if (cmd == "VERSION") {
    if (f.size() < 3) return invalid("broken VERSION");
    auto major = parse_uint(f[1]), minor = parse_uint(f[2]);
    if (!major || !minor) return invalid("broken VERSION");
    return ClientCommand(ClientVersion{*major, *minor});
  }
  if (cmd == "CPID") {
    if (f.size() != 2) return invalid("broken CPID");
    auto pid = parse_uint(f[1]);
    if (!pid || *pid == 0) return invalid("broken CPID");
    return ClientCommand(ClientCpid{*pid});
  }
  if (cmd == "AUTH") return parse_auth(f);
  if (cmd == "CONT") {
    // The data field is base64 (or empty): no escaping applies to it.
    if (f.size() != 3) return invalid("broken CONT request");
    auto id = parse_uint(f[1]);
    if (!id) return invalid("broken CONT request id");
    if (f[2].size() > kMaxSaslBase64) return make_error(Errc::kLimit, "continued response too long");
    return ClientCommand(ContCommand{*id, f[2]});
  }
  if (cmd == "CANCEL") {
    if (f.size() != 2) return invalid("broken CANCEL");
    auto id = parse_uint(f[1]);
    if (!id) return invalid("broken CANCEL id");
    return ClientCommand(CancelCommand{*id});
  }
  if (cmd == "REQUEST") {
    auto m = parse_master_line(line);
    if (!m || !std::holds_alternative<RequestCommand>(*m)) return invalid("broken REQUEST");
    return ClientCommand(std::get<RequestCommand>(std::move(*m)));
  }
  return invalid("unknown command");
}

std::string format_ok(unsigned id, std::string_view user, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string t = strf("OK\t%u\tuser=", id) + tab_escape(user);
  for (const auto& [k, v] : fields) t += "\t" + k + (v.empty() ? "" : "=" + tab_escape(v));
  return t + "\n";
}

std::string format_cont(unsigned id, std::string_view base64) {
  return strf("CONT\t%u\t", id) + std::string(base64) + "\n";
}

std::string format_fail(unsigned id, const FailReply& f) {
  std::string t = strf("FAIL\t%u", id);
  if (!f.user.empty()) t += "\tuser=" + tab_escape(f.user);
  if (!f.reason.empty()) t += "\treason=" + tab_escape(f.reason);
  if (f.temp) t += "\ttemp";
  return t + "\n";
}

}  // namespace tern::auth
