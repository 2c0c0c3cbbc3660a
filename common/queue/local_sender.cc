// local_login_sender_maps (local_sender.h).

#include "common/queue/local_sender.h"

#include "common/base/strings.h"
#include "common/mail/smtp_path.h"

namespace tern::queue {
namespace {

// "user+tag@Example.ORG" -> "user@example.org" (the domain lower-cased, the
// extension removed).
std::string comparable(std::string_view address, std::string_view delimiters) {
  size_t at = address.rfind('@');
  std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
  std::string out = mail::split_extension(local, delimiters).user;
  if (out.empty()) out = std::string(local);
  if (at != std::string_view::npos) out += "@" + to_lower(address.substr(at + 1));
  return out;
}

bool allows(std::string_view pattern, std::string_view sender, std::string_view delimiters) {
  if (pattern == "*") return true;
  if (pattern == "<>") return sender.empty();
  if (sender.empty()) return false;
  std::string s = comparable(sender, delimiters);
  if (pattern.starts_with("@")) {
    size_t at = s.rfind('@');
    return at != std::string::npos && equals_nocase(std::string_view(s).substr(at), pattern);
  }
  return s == comparable(pattern, delimiters);
}

}  // namespace

Status check_local_sender(const LocalSenderPolicy& policy, std::string_view login, long uid, std::string_view sender) {
  if (policy.maps.empty()) return {};
  std::string key = login.empty() ? strf("uid:%ld", uid) : std::string(login);
  for (const table::Table* t : policy.maps) {
    auto value = t->lookup(key);
    if (!value) {
      if (value.error().code == Errc::kNotFound) continue;
      return make_error(Errc::kTemporary, "local_login_sender_maps: " + value.error().text);
    }
    for (std::string_view pattern : split_any(*value, ", \t"))
      if (allows(pattern, sender, policy.delimiters)) return {};
    return invalid(strf("%s may not use the sender <%.*s> (local_login_sender_maps)", key.c_str(),
                        static_cast<int>(sender.size()), sender.data()));
  }
  return make_error(Errc::kNotFound, key + " is not in local_login_sender_maps, and so may not send mail");
}

}  // namespace tern::queue
