#include "common/queue/alias_expand.h"

#include <algorithm>

#include "common/base/strings.h"
#include "common/queue/cleanup.h"

namespace tern::queue {
namespace {

struct Split {
  std::string local, domain;  // domain lower-cased
};

Split split_address(const std::string& a) {
  auto at = a.rfind('@');
  if (at == std::string::npos) return {a, ""};
  return {a.substr(0, at), to_lower(a.substr(at + 1))};
}

// local part without its extension ("user+tag" -> "user"), as Postfix's
// recipient_delimiter: the first delimiter found splits.
std::string without_extension(const std::string& local, const std::string& delimiters) {
  if (delimiters.empty()) return local;
  auto pos = local.find_first_of(delimiters);
  if (pos == std::string::npos || pos == 0) return local;
  return local.substr(0, pos);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The first value found for any key in any table; "" when none. *matched:
// the index of the key that found it.
Result<std::string> lookup(const std::vector<const table::Table*>& tables, const std::vector<std::string>& keys,
                           size_t* matched = nullptr) {
  for (auto* t : tables) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto& k = keys[i];
      auto v = t->lookup(k);
      if (v) {
        if (matched) *matched = i;
        return std::move(*v);
      }
      if (v.error().code != Errc::kNotFound)
        return make_error(Errc::kTemporary, t->name() + ": " + v.error().text);
    }
  }
  return std::string();
}

class Expander {
 public:
  Expander(const AliasSettings& s, std::vector<std::string>* warnings) : s_(s), warnings_(warnings) {}

  Status expand(const std::string& address, const Recipient& from, int depth) {
    if (depth > kMaxAliasDepth)
      return make_error(Errc::kLimit, "alias expansion loop at <" + address + "> (more than " +
                                          std::to_string(kMaxAliasDepth) + " levels)");
    std::string extension;
    auto targets = targets_of(address, &extension);
    if (!targets) return targets.take_error();
    if (targets->empty()) return add(address, from);
    for (auto& t : *targets) {
      if (t.empty()) continue;
      if (t[0] == '|' || t[0] == '/' || starts_with_nocase(t, ":include:")) {
        if (warnings_) warnings_->push_back("alias <" + address + ">: " + t + ": Tern does not deliver to programs or files");
        continue;
      }
      std::string target = t.find('@') == std::string::npos ? t + "@" + s_.myorigin : t;
      if (!extension.empty()) target.insert(target.rfind('@'), extension);
      if (equals_nocase(target, address)) {
        if (auto st = add(address, from); !st) return st;  // "bob: bob, archive"
        continue;
      }
      if (auto st = expand(target, from, depth + 1); !st) return st;
    }
    return {};
  }

  std::vector<Recipient> take() { return std::move(out_); }

 private:
  // The alias targets of an address; empty when it is final. When a
  // virtual_alias_maps entry matched only without the address's extension,
  // *extension is that extension with its delimiter ("+news"), to go onto
  // each target: Postfix's default propagate_unmatched_extensions
  // (canonical, virtual), so demo+news@ keeps its folder through an alias.
  // alias_maps entries do not pass it on (nor do Postfix's by default).
  Result<std::vector<std::string>> targets_of(const std::string& address, std::string* extension) {
    auto [local, domain] = split_address(address);
    std::string lower = to_lower(local);
    std::string base = to_lower(without_extension(local, s_.delimiters));
    std::vector<std::string> keys = {lower + "@" + domain};
    if (base != lower) keys.push_back(base + "@" + domain);
    size_t matched = 0;
    auto v = lookup(s_.virtual_alias_maps, keys, &matched);
    if (!v) return v.take_error();
    if (!v->empty() && matched == 1) *extension = local.substr(base.size());
    if (v->empty() && !domain.empty() &&
        (contains(s_.mydestination, domain) ||
         ((lower == "postmaster" || lower == "abuse") && contains(s_.local_domains, domain)))) {
      std::vector<std::string> local_keys = {lower};
      if (base != lower) local_keys.push_back(base);
      v = lookup(s_.alias_maps, local_keys);
      if (!v) return v.take_error();
    }
    if (v->empty() && domain.empty() && lower == "postmaster") {  // the bare <postmaster>
      v = lookup(s_.alias_maps, {"postmaster"});
      if (!v) return v.take_error();
    }
    if (v->empty()) return std::vector<std::string>{};
    return table::split_alias_list(*v);
  }

  Status add(const std::string& address, const Recipient& from) {
    if (out_.size() >= kMaxAliasResults)
      return make_error(Errc::kLimit, "alias expansion gives more than " + std::to_string(kMaxAliasResults) +
                                          " recipients");
    Recipient r = from;
    r.address = address;
    if (r.orcpt.empty() && r.original.empty() && !equals_nocase(address, from.address)) r.original = from.address;
    out_.push_back(std::move(r));
    return {};
  }

  const AliasSettings& s_;
  std::vector<std::string>* warnings_;
  std::vector<Recipient> out_;
};

}  // namespace

Result<std::vector<Recipient>> expand_aliases(const AliasSettings& settings, const std::vector<Recipient>& in,
                                              std::vector<std::string>* warnings) {
  Expander e(settings, warnings);
  for (auto& r : in) {
    if (auto s = e.expand(r.address, r, 0); !s) return s.take_error();
  }
  return remove_duplicates(e.take());
}

}  // namespace tern::queue
