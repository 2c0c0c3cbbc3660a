#include "smtp-client/tls_policy.h"

#include "common/base/strings.h"
#include <algorithm>

#include "common/table/table.h"

namespace tern::smtp_client {

Result<TlsPolicy> parse_tls_policy(std::string_view value) {
  auto words = split_any(value, " \t");
  if (words.empty()) return invalid("empty TLS policy");
  TlsPolicy p;
  auto level = parse_tls_level(words[0]);
  if (!level) return level.take_error();
  p.level = *level;
  for (size_t i = 1; i < words.size(); ++i) {
    std::string_view w = words[i];
    if (w.starts_with("match=")) {
      for (auto name : split_any(w.substr(6), ":"))
        if (!name.empty()) p.match.push_back(to_lower(name));
      if (p.match.empty()) return invalid("TLS policy: empty match= in \"" + std::string(value) + "\"");
    } else if (w.find('=') == std::string_view::npos) {
      return invalid("TLS policy: unknown attribute \"" + std::string(w) + "\"");
    }
  }
  return p;
}

Result<TlsPolicy> tls_policy_for(const Settings& s, std::string_view nexthop) {
  TlsPolicy dflt{s.tls_level, s.tls_match};
  if (!s.tls_policy) return dflt;
  std::string hop = to_lower(nexthop);
  std::vector<std::string> keys{hop};
  if (!hop.empty() && hop.front() != '[') {
    std::string domain = hop.substr(0, hop.find(':'));
    if (domain != hop) keys.push_back(domain);
    for (size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1))
      keys.push_back(domain.substr(dot));
  }
  for (const auto& k : keys) {
    auto v = s.tls_policy->lookup(k);
    if (v) {
      auto p = parse_tls_policy(*v);
      if (!p) return make_error(Errc::kInvalid, s.tls_policy->name() + ": " + k + ": " + p.error().text);
      if (p->match.empty()) p->match = s.tls_match;
      return p;
    }
    if (v.error().code == Errc::kNotFound || v.error().code == Errc::kInvalid) continue;
    return make_error(Errc::kTemporary, "smtp_tls_policy_maps " + s.tls_policy->name() + ": " + v.error().text);
  }
  return dflt;
}

std::vector<std::string> match_names(const std::vector<std::string>& match, std::string_view host,
                                     std::string_view nexthop) {
  std::vector<std::string> out;
  auto add = [&](std::string n) {
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  };
  std::string hop(nexthop);
  if (!hop.empty() && hop.front() == '[') hop = hop.substr(1, hop.find(']') - 1);
  else hop = hop.substr(0, hop.find(':'));
  for (const auto& m : match.empty() ? std::vector<std::string>{"hostname"} : match) {
    if (m == "hostname") add(to_lower(host));
    else if (m == "nexthop") add(to_lower(hop));
    else if (m == "dot-nexthop") add("." + to_lower(hop));
    else add(m);
  }
  return out;
}

}  // namespace tern::smtp_client
