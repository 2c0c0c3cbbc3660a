#include "qmgr/routing.h"

#include "common/base/strings.h"
#include "common/table/table.h"

namespace tern::qmgr {
namespace {

bool is_code(std::string_view s) { return ipc::is_enhanced_status(s); }

std::string_view default_transport_name(std::string_view default_transport) {
  size_t colon = default_transport.find(':');
  return default_transport.substr(0, colon);
}

// The keys transport_maps is asked, in order (routing.h).
std::vector<std::string> lookup_keys(const std::string& address, const std::string& domain,
                                     std::string_view delimiters) {
  std::vector<std::string> keys;
  keys.push_back(address);
  size_t at = address.rfind('@');
  std::string local = at == std::string::npos ? address : address.substr(0, at);
  if (!delimiters.empty()) {
    size_t cut = local.find_first_of(delimiters);
    if (cut != std::string::npos && cut > 0) {
      std::string bare = local.substr(0, cut);
      if (at != std::string::npos) bare += address.substr(at);
      keys.push_back(bare);
    }
  }
  if (!domain.empty()) {
    keys.push_back(domain);
    for (size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1))
      keys.push_back(domain.substr(dot));
  }
  keys.push_back("*");
  return keys;
}

}  // namespace

bool valid_transport_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<Route> parse_transport_value(std::string_view value, std::string_view domain,
                                    std::string_view default_transport) {
  value = trim(value);
  size_t colon = value.find(':');
  std::string transport(trim(value.substr(0, colon)));
  std::string nexthop(colon == std::string_view::npos ? std::string_view() : trim(value.substr(colon + 1)));
  if (transport.empty()) transport = std::string(default_transport_name(default_transport));
  Route r;
  std::string lower = to_lower(transport);
  if (lower == "error") {
    r.kind = RouteKind::kError;
    std::string_view text = nexthop;
    size_t sp = text.find(' ');
    std::string_view first = text.substr(0, sp);
    if (is_code(first) && first[0] == '5') {
      r.dsn = std::string(first);
      text = sp == std::string_view::npos ? std::string_view() : trim(text.substr(sp + 1));
    } else {
      r.dsn = "5.0.0";
    }
    r.text = text.empty() ? "delivery refused by transport_maps" : std::string(text);
    return r;
  }
  if (lower == "discard") {
    r.kind = RouteKind::kDiscard;
    r.text = nexthop.empty() ? "discarded" : nexthop;
    return r;
  }
  if (!valid_transport_name(transport)) return invalid("bad transport name \"" + transport + "\" in \"" + std::string(value) + "\"");
  r.transport = transport;
  r.nexthop = nexthop.empty() ? std::string(domain) : nexthop;
  if (r.nexthop.empty()) return invalid("no next hop in \"" + std::string(value) + "\" and no recipient domain");
  bool lmtp_hop = r.nexthop.rfind("unix:", 0) == 0 || r.nexthop.rfind("inet:", 0) == 0;
  r.protocol = (lower == "lmtp" || lmtp_hop) ? ipc::DeliveryProtocol::kLmtp : ipc::DeliveryProtocol::kSmtp;
  if (r.protocol == ipc::DeliveryProtocol::kLmtp && !lmtp_hop)
    return invalid("an lmtp next hop is unix:PATH or inet:HOST:PORT, not \"" + r.nexthop + "\"");
  return r;
}

Result<Route> route(std::string_view address_in, const RoutingSettings& s) {
  std::string address = to_lower(address_in);
  size_t at = address.rfind('@');
  std::string domain = at == std::string::npos ? std::string() : address.substr(at + 1);
  if (!s.transport_maps.empty()) {
    for (const auto& key : lookup_keys(address, domain, s.recipient_delimiter)) {
      for (const table::Table* t : s.transport_maps) {
        auto v = t->lookup(key);
        if (v) {
          auto r = parse_transport_value(*v, domain, s.default_transport);
          if (!r) return make_error(Errc::kInvalid, t->name() + ": " + key + ": " + r.error().text);
          return r;
        }
        if (v.error().code == Errc::kInvalid) continue;  // a key no table holds (too long)
        if (v.error().code != Errc::kNotFound)
          return make_error(Errc::kTemporary, "transport_maps " + t->name() + ": " + v.error().text);
      }
    }
  }
  for (const auto& d : s.virtual_mailbox_domains) {
    if (d == domain) return parse_transport_value(s.virtual_transport, domain, s.default_transport);
  }
  for (const auto& d : s.mydestination) {
    if (d == domain) {
      Route r;
      r.kind = RouteKind::kError;
      r.dsn = "5.1.1";
      r.text = "User unknown in local recipient table";
      return r;
    }
  }
  if (!s.relayhost.empty()) {
    auto r = parse_transport_value(s.default_transport, domain, s.default_transport);
    if (!r || r->kind != RouteKind::kDeliver) return r;
    r->nexthop = s.relayhost;
    return r;
  }
  return parse_transport_value(s.default_transport, domain, s.default_transport);
}

}  // namespace tern::qmgr
