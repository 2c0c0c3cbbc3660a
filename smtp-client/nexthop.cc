#include "smtp-client/nexthop.h"

#include "common/base/strings.h"
#include "common/dns/names.h"

namespace tern::smtp_client {

namespace {

Result<int> parse_port(std::string_view s) {
  auto n = parse_int(s);
  if (!n || *n < 1 || *n > 65535) return invalid("bad port \"" + std::string(s) + "\"");
  return static_cast<int>(*n);
}

// HOST[:PORT] or [HOST][:PORT]; bracketed says whether brackets were used.
Status split_host_port(std::string_view text, int default_port, Nexthop& hop, bool& bracketed) {
  std::string_view host, port;
  bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing \"]\"");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid("junk after \"]\"");
      port = rest.substr(1);
    }
    if (starts_with_nocase(host, "ipv6:")) host.remove_prefix(5);
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) return invalid("an IPv6 address needs brackets");
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }
  if (host.empty()) return invalid("empty host");
  hop.port = default_port;
  if (!port.empty() || (!text.empty() && text.back() == ':')) {
    auto p = parse_port(port);
    if (!p) return p.take_error();
    hop.port = *p;
  }
  hop.family = dns::address_family(host);
  if (hop.family) {
    hop.host = dns::canonical_address(host);
  } else {
    if (!dns::valid_hostname(host)) return invalid("bad host name \"" + std::string(host) + "\"");
    hop.host = std::string(host);
    if (hop.host.back() == '.') hop.host.pop_back();
  }
  return {};
}

}  // namespace

Result<Nexthop> parse_nexthop(ipc::DeliveryProtocol protocol, std::string_view text, int default_port) {
  Nexthop hop;
  hop.text = std::string(text);
  auto fail = [&](const Error& e) {
    return invalid("bad nexthop \"" + std::string(text) + "\": " + e.text);
  };
  if (protocol == ipc::DeliveryProtocol::kLmtp) {
    if (text.starts_with("unix:")) {
      std::string_view path = text.substr(5);
      // Inside the jail, relative, no way out of it; a sockaddr_un holds 107.
      if (path.empty() || path.front() == '/' || path.size() > 100 || path == ".." || path.starts_with("../") ||
          path.find("/../") != std::string_view::npos || path.ends_with("/.."))
        return fail(invalid("the path must stay inside the queue directory"));
      hop.kind = Nexthop::Kind::kUnix;
      hop.path = std::string(path);
      return hop;
    }
    if (text.starts_with("inet:")) text.remove_prefix(5);
    bool bracketed = false;
    if (auto st = split_host_port(text, default_port, hop, bracketed); !st) return fail(st.error());
    hop.kind = Nexthop::Kind::kInet;
    return hop;
  }
  bool bracketed = false;
  if (auto st = split_host_port(text, default_port, hop, bracketed); !st) return fail(st.error());
  hop.kind = bracketed ? Nexthop::Kind::kInet : Nexthop::Kind::kDomain;
  if (hop.kind == Nexthop::Kind::kDomain && hop.family) return fail(invalid("an address needs brackets"));
  return hop;
}

}  // namespace tern::smtp_client
