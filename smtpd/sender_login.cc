#include "smtpd/sender_login.h"

#include <optional>

#include "common/base/strings.h"

namespace tern::smtpd {
namespace {

// Items of an owner list: commas and white space separate.
bool list_has(std::string_view value, const std::string& login) {
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ',' || value[i] == ' ' || value[i] == '\t')) ++i;
    size_t j = i;
    while (j < value.size() && value[j] != ',' && value[j] != ' ' && value[j] != '\t') ++j;
    if (j > i && equals_nocase(value.substr(i, j - i), login)) return true;
    i = j;
  }
  return false;
}

// Looks key up in each table in turn: the first that knows it answers.
// Returns found/not found; a table error sets *temp.
std::optional<std::string> lookup(const std::vector<std::unique_ptr<table::Table>>& maps, const std::string& key,
                                  bool* temp, std::string* why) {
  for (auto& t : maps) {
    auto r = t->lookup(key);
    if (r) return *r;
    if (r.error().code != Errc::kNotFound) {
      *temp = true;
      *why = t->name() + ": " + r.error().text;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

SenderOwnership check_sender_login(const SenderLogins& logins,
                                   const std::vector<std::unique_ptr<table::Table>>& virtual_alias_maps,
                                   const mail::Address& sender, const std::string& login, std::string* why) {
  if (sender.is_null) return SenderOwnership::kOwned;
  const std::string address = sender.local + "@" + sender.domain_lower;
  bool temp = false;
  if (!logins.maps.empty()) {
    for (const std::string& key : {address, "@" + sender.domain_lower}) {
      auto owners = lookup(logins.maps, key, &temp, why);
      if (temp) return SenderOwnership::kTempFail;
      if (owners) return list_has(*owners, login) ? SenderOwnership::kOwned : SenderOwnership::kNotOwned;
    }
    return SenderOwnership::kNotOwned;
  }
  if (equals_nocase(address, login)) return SenderOwnership::kOwned;
  const std::string base = mail::split_extension(sender.local, logins.delimiters).user + "@" + sender.domain_lower;
  if (equals_nocase(base, login)) return SenderOwnership::kOwned;
  for (const std::string& key : {address, base}) {
    auto targets = lookup(virtual_alias_maps, key, &temp, why);
    if (temp) return SenderOwnership::kTempFail;
    if (targets && list_has(*targets, login)) return SenderOwnership::kOwned;
  }
  return SenderOwnership::kNotOwned;
}

}  // namespace tern::smtpd
