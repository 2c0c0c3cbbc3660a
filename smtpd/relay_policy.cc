#include "smtpd/relay_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/base/strings.h"

namespace tern::smtpd {

Result<Network> Network::parse(std::string_view text) {
  Network n;
  std::string t(trim(text));
  std::string prefix;
  if (auto slash = t.find('/'); slash != std::string::npos) {
    prefix = t.substr(slash + 1);
    t.resize(slash);
  }
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  int max;
  if (inet_pton(AF_INET, t.c_str(), n.addr) == 1) {
    n.family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, t.c_str(), n.addr) == 1) {
    n.family = AF_INET6;
    max = 128;
  } else {
    return invalid("mynetworks: not a network address: " + std::string(text));
  }
  n.prefix = max;
  if (!prefix.empty()) {
    auto p = parse_int(prefix);
    if (!p || *p < 0 || *p > max) return invalid("mynetworks: bad prefix length: " + std::string(text));
    n.prefix = static_cast<int>(*p);
  }
  // Host bits set ("192.0.2.1/24") are a typo Postfix refuses too.
  for (int bit = n.prefix; bit < max; ++bit)
    if (n.addr[bit / 8] & (0x80 >> (bit % 8)))
      return invalid("mynetworks: host bits set in " + std::string(text));
  return n;
}

bool Network::contains(const std::string& address) const {
  unsigned char a[16] = {};
  if (inet_pton(family, address.c_str(), a) != 1) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, addr, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

bool RelayPolicy::is_local_domain(const std::string& domain_lower) const {
  return std::find(local_domains.begin(), local_domains.end(), domain_lower) != local_domains.end();
}

bool RelayPolicy::in_mynetworks(const std::string& address) const {
  return std::any_of(mynetworks.begin(), mynetworks.end(), [&](const Network& n) { return n.contains(address); });
}

RelayVerdict RelayPolicy::check(const mail::Address& rcpt, const std::string& client_address,
                                bool authenticated) const {
  bool trusted = authenticated || in_mynetworks(client_address);
  if (rcpt.is_postmaster) return RelayVerdict::kLocal;  // RFC 5321 4.5.1
  if (!rcpt.is_address_literal && is_local_domain(rcpt.domain_lower)) {
    // Routing inside a local address is relaying by another name; a trusted
    // client may still do it (Postfix: allow_untrusted_routing = no).
    if (mail::has_routing_tricks(rcpt) && !trusted) return RelayVerdict::kRouting;
    return RelayVerdict::kLocal;
  }
  return trusted ? RelayVerdict::kRelay : RelayVerdict::kDenied;
}

}  // namespace tern::smtpd
