#pragma once
// Who may use which envelope sender after AUTH (RFC 6409 6.1: a submission
// server may refuse a sender the authenticated user does not own). Postfix's
// reject_sender_login_mismatch with smtpd_sender_login_maps:
//
//   smtpd_sender_login_maps empty (Tern's default): a user owns their own
//   address (the login authd answered with, compared without case), the
//   same address with an extension (user+tag@domain), and every address
//   virtual_alias_maps sends to them (an alias whose value lists the login).
//   smtpd_sender_login_maps set: the tables map a sender (the full address,
//   then "@domain") to the logins that own it, separated by commas or white
//   space; the first table that knows the key decides.
//
// The null sender (bounces) is always allowed, as in Postfix. A table
// failure is a temporary failure (451 4.3.0), never a rejection.

#include <memory>
#include <string>
#include <vector>

#include "common/mail/smtp_path.h"
#include "common/table/table.h"

namespace tern::smtpd {

struct SenderLogins {
  std::vector<std::unique_ptr<table::Table>> maps;  // smtpd_sender_login_maps
  std::string delimiters;                           // recipient_delimiter
};

enum class SenderOwnership { kOwned, kNotOwned, kTempFail };

SenderOwnership check_sender_login(const SenderLogins& logins,
                                   const std::vector<std::unique_ptr<table::Table>>& virtual_alias_maps,
                                   const mail::Address& sender, const std::string& login, std::string* why);

}  // namespace tern::smtpd
