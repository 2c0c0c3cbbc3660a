// The names common/dns checks before anything is sent or printed
// (common/dns/names.h). The input's lines are dns_servers items; each line
// is also tried as a host name and as an address. Invariants, each abort()ing:
//   - an accepted dns_servers list formats (servers_csv) to text whose items
//     parse back to the same servers, with canonical addresses and ports in
//     1..65535;
//   - valid_hostname accepts only letters, digits, hyphens and dots, at most
//     253 characters besides one trailing dot;
//   - an address that canonical_address accepts has a reverse name ending in
//     in-addr.arpa or ip6.arpa that is itself a valid host name, and its
//     canonical form is stable and of the same family.

#include <cctype>
#include <string>
#include <vector>

#include "common/base/strings.h"
#include "common/dns/names.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  std::string_view text = tern::fuzz::as_text(data, size);
  std::vector<std::string> items;
  for (auto line : tern::split(text, '\n')) {
    if (items.size() >= 64) break;
    items.emplace_back(line);
    std::string_view name = line;

    if (tern::dns::valid_hostname(name)) {
      std::string_view core = name;
      if (core.ends_with('.')) core.remove_suffix(1);
      if (core.empty() || core.size() > 253) fail("valid_hostname accepted a bad length");
      for (char c : core)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') fail("valid_hostname accepted a bad character");
    }

    std::string canonical = tern::dns::canonical_address(name);
    if (!canonical.empty()) {
      int family = tern::dns::address_family(name);
      if (family != 4 && family != 6) fail("an accepted address has no family");
      if (tern::dns::canonical_address(canonical) != canonical) fail("canonical address is not stable");
      if (tern::dns::address_family(canonical) != family) fail("canonical address changed family");
      auto rev = tern::dns::reverse_name(name);
      if (!rev) fail("no reverse name for an accepted address");
      if (!rev->ends_with(family == 4 ? ".in-addr.arpa" : ".ip6.arpa")) fail("reverse name in the wrong tree");
      if (!tern::dns::valid_hostname(*rev)) fail("reverse name is not a valid host name");
    } else if (tern::dns::reverse_name(name)) {
      fail("a reverse name for what is not an address");
    }
  }

  auto servers = tern::dns::parse_servers(items);
  if (servers) {
    for (const auto& s : *servers) {
      if (s.port < 1 || s.port > 65535) fail("server port out of range");
      if (tern::dns::canonical_address(s.address) != s.address) fail("server address not canonical");
    }
    std::string csv = tern::dns::servers_csv(*servers);
    std::vector<std::string> again_items;
    for (auto item : tern::split_any(csv, ",")) again_items.emplace_back(item);
    auto again = tern::dns::parse_servers(again_items);
    if (!again || *again != *servers) fail("servers_csv does not parse back to the same servers");
  } else if (servers.error().text.empty()) {
    fail("a refusal without text");
  }
  return 0;
}
