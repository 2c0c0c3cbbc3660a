#include "common/dns/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>

#include "common/base/strings.h"

namespace tern::dns {
namespace {

constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

// inet_pton reads a C string: copy first, and refuse what holds a NUL or is
// too long to be an address.
bool to_binary(std::string_view text, int* family, unsigned char out[16]) {
  if (text.empty() || text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos) return false;
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), out) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

int address_family(std::string_view address) {
  int family = 0;
  unsigned char buf[16];
  if (!to_binary(address, &family, buf)) return 0;
  return family == AF_INET ? 4 : 6;
}

std::string canonical_address(std::string_view address) {
  int family = 0;
  unsigned char buf[16];
  if (!to_binary(address, &family, buf)) return "";
  char out[INET6_ADDRSTRLEN] = "";
  if (!inet_ntop(family, buf, out, sizeof out)) return "";
  return out;
}

Result<std::string> reverse_name(std::string_view address) {
  int family = 0;
  unsigned char b[16];
  if (!to_binary(address, &family, b)) return invalid("not an IP address: " + std::string(address.substr(0, 64)));
  if (family == AF_INET) return strf("%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
  // RFC 3596 2.5: one label per nibble, least significant first.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64 + 9);
  for (int i = 15; i >= 0; --i) {
    out += kHex[b[i] & 0x0f];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  out += "ip6.arpa";
  return out;
}

bool valid_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';
}

Result<std::vector<ServerAddress>> parse_servers(const std::vector<std::string>& items) {
  std::vector<ServerAddress> out;
  for (const std::string& raw : items) {
    std::string_view item = trim(raw);
    std::string_view host = item;
    std::string_view port;
    if (item.starts_with('[')) {
      // "[2001:db8::53]" or "[2001:db8::53]:5353"
      size_t close = item.find(']');
      if (close == std::string_view::npos) return invalid("dns_servers: missing ']' in " + raw);
      host = item.substr(1, close - 1);
      std::string_view rest = item.substr(close + 1);
      if (!rest.empty()) {
        if (rest[0] != ':') return invalid("dns_servers: expected :port after ']' in " + raw);
        port = rest.substr(1);
      }
      if (address_family(host) != 6) return invalid("dns_servers: not an IPv6 address in brackets: " + raw);
    } else if (size_t colon = item.find(':'); colon != std::string_view::npos && item.find(':', colon + 1) == std::string_view::npos) {
      // Exactly one colon: IPv4 address and port. More colons: a bare IPv6
      // address, whose port can only be given in brackets.
      host = item.substr(0, colon);
      port = item.substr(colon + 1);
      if (address_family(host) != 4) return invalid("dns_servers: not an IPv4 address: " + raw);
    }
    ServerAddress s;
    s.address = canonical_address(host);
    if (s.address.empty()) return invalid("dns_servers: not an IP address (names cannot be used here): " + raw);
    if (!port.empty() || item.ends_with(':')) {
      auto p = parse_int(port);
      if (!p || *p < 1 || *p > 65535) return invalid("dns_servers: bad port in " + raw);
      s.port = static_cast<int>(*p);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string servers_csv(const std::vector<ServerAddress>& servers) {
  std::string out;
  for (const auto& s : servers) {
    if (!out.empty()) out += ',';
    if (s.address.find(':') != std::string::npos) out += "[" + s.address + "]";
    else out += s.address;
    out += ":" + std::to_string(s.port);
  }
  return out;
}

}  // namespace tern::dns
