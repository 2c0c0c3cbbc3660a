#include "smtpd/recipient_check.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::smtpd {
namespace {

enum class Found { kYes, kNo, kError };

Found lookup_any(const std::vector<std::unique_ptr<table::Table>>& tables, const std::vector<std::string>& keys,
                 std::string* error) {
  for (auto& t : tables) {
    for (auto& key : keys) {
      auto v = t->lookup(key);
      if (v) return Found::kYes;
      if (v.error().code != Errc::kNotFound) {
        *error = t->name() + ": " + v.error().text;
        return Found::kError;
      }
    }
  }
  return Found::kNo;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

std::unique_ptr<auth::UserdbLookup> check_recipient(event::Loop& loop, const RecipientDirectory& dir,
                                                    const mail::Address& rcpt,
                                                    std::function<void(RecipientStatus, std::string)> done) {
  if (rcpt.is_postmaster) {
    done(RecipientStatus::kExists, "");
    return nullptr;
  }
  std::string local = to_lower(rcpt.local);
  const std::string& domain = rcpt.domain_lower;
  std::string base = to_lower(mail::split_extension(rcpt.local, dir.delimiters).user);
  if (local == "postmaster" || local == "abuse") {
    done(RecipientStatus::kExists, "");
    return nullptr;
  }
  std::string error;
  std::vector<std::string> full_keys = {local + "@" + domain};
  if (base != local) full_keys.push_back(base + "@" + domain);
  switch (lookup_any(dir.virtual_alias_maps, full_keys, &error)) {
    case Found::kYes: done(RecipientStatus::kExists, ""); return nullptr;
    case Found::kError: done(RecipientStatus::kTempFail, error); return nullptr;
    case Found::kNo: break;
  }
  if (contains(dir.mydestination, domain)) {
    std::vector<std::string> keys = {local};
    if (base != local) keys.push_back(base);
    switch (lookup_any(dir.alias_maps, keys, &error)) {
      case Found::kYes: done(RecipientStatus::kExists, ""); return nullptr;
      case Found::kError: done(RecipientStatus::kTempFail, error); return nullptr;
      case Found::kNo: done(RecipientStatus::kUnknown, "User unknown in local recipient table"); return nullptr;
    }
  }
  if (!contains(dir.virtual_mailbox_domains, domain)) {
    done(RecipientStatus::kUnknown, "User unknown in virtual alias table");
    return nullptr;
  }
  auto answered = [done](auth::UserdbReply r) {
    switch (r.status) {
      case auth::UserdbStatus::kFound: return done(RecipientStatus::kExists, "");
      case auth::UserdbStatus::kNotFound: return done(RecipientStatus::kUnknown, "User unknown in virtual mailbox table");
      case auth::UserdbStatus::kTempFail: return done(RecipientStatus::kTempFail, r.reason);
    }
  };
  if (dir.userdb) return dir.userdb->lookup(base + "@" + domain, "smtp", std::move(answered));
  return auth::UserdbLookup::start(loop, dir.userdb_socket, base + "@" + domain, "smtp", dir.userdb_timeout,
                                   std::move(answered));
}

}  // namespace tern::smtpd
