#pragma once
// SMTP AUTH as a client (RFC 4954), for relaying through a smarthost:
// the login for a next hop from smtp_sasl_password_maps, the choice of a
// mechanism among those the server's EHLO offers, and the exchange itself
// (PLAIN, RFC 4616, with an initial response; LOGIN, the de-facto
// draft-murchison-sasl-login, user name then password on two 334
// challenges). Pure logic: the session (session_auth.cc) sends the lines
// and feeds the replies.
//
// Decisions (Postfix's where it has one):
//   - Lookup keys, first match wins: the next hop as qmgr named it
//     ("[smtp.example]:587", "example.org:2525", "example.org"), the same
//     without the port, then the host connected to ("mx1.example.org").
//     The value is "user:password", split at the first colon (so a
//     password may contain colons, a user name may not).
//   - smtp_sasl_security_options applies without TLS, and
//     smtp_sasl_tls_security_options inside TLS. Both mechanisms send the
//     password in the clear, so "noplaintext" (the default without TLS),
//     "noactive", "nodictionary" and "mutual_auth" each rule them out; the
//     session then defers the mail, "no mechanism available", rather than
//     send it unauthenticated (Postfix does the same). "noanonymous" is
//     always true here: there is no ANONYMOUS mechanism.
//   - PLAIN is preferred to LOGIN; smtp_sasl_mechanism_filter (when set)
//     narrows the choice.
//   - A 334 beyond what the mechanism expects, or a challenge that is not
//     base64, ends the exchange as a failure (the session is then closed).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/mail/smtp_reply.h"
#include "common/table/table.h"

namespace tern::smtp_client {

struct SaslOptions {
  bool noplaintext = false;
  bool noanonymous = true;
  bool noactive = false;
  bool nodictionary = false;
  bool mutual_auth = false;
  // Our mechanisms (PLAIN, LOGIN) are plaintext, dictionary-attackable,
  // and authenticate only the client.
  bool plaintext_allowed() const { return !noplaintext && !noactive && !nodictionary && !mutual_auth; }
};
// Postfix's words, comma or space separated; an unknown word is an error.
Result<SaslOptions> parse_sasl_options(const std::vector<std::string>& words);

struct SaslLogin {
  std::string user;
  std::string password;
  SaslLogin() = default;
  SaslLogin(SaslLogin&&) = default;
  SaslLogin& operator=(SaslLogin&&) = default;
  ~SaslLogin();  // wipes the password
};
// "user:password"; kInvalid without a colon or with an empty user.
Result<SaslLogin> parse_sasl_login(std::string_view value);

// The keys to try for a next hop (the delivery request's nexthop=) and the
// name of the host connected to ("" when it has none).
std::vector<std::string> sasl_lookup_keys(std::string_view nexthop, std::string_view host);

// What smtp_sasl_* say, loaded once per process (tables opened before the
// privilege drop).
struct SaslSettings {
  bool enable = false;
  std::vector<std::unique_ptr<table::Table>> maps;
  SaslOptions options;      // without TLS
  SaslOptions tls_options;  // inside TLS
  std::vector<std::string> filter;  // upper case; empty: any
  bool soft_bounce = true;

  // The login for this next hop: kNotFound when no table has one; other
  // errors are temporary (a table failed).
  Result<SaslLogin> lookup(std::string_view nexthop, std::string_view host) const;
};

// ASCII upper case (mechanism names, RFC 4422 3.1).
std::string upper_ascii(std::string_view s);

// Picks a mechanism from the EHLO AUTH list (upper-cased words); "" when
// none is allowed.
std::string choose_mechanism(const std::vector<std::string>& offered, const SaslOptions& options,
                             const std::vector<std::string>& filter);

class SaslClient {
 public:
  SaslClient(std::string mechanism, SaslLogin login);
  ~SaslClient();
  // "AUTH PLAIN <initial response>\r\n" or "AUTH LOGIN\r\n".
  std::string first_command() const;

  struct Step {
    enum class Kind { kSend, kSuccess, kFailure } kind = Kind::kFailure;
    std::string line;  // kSend: the response, with CRLF (never logged)
    std::string why;   // kFailure without a server reply to quote
  };
  Step on_reply(const mail::Reply& reply);
  const std::string& mechanism() const { return mechanism_; }

 private:
  std::string mechanism_;
  SaslLogin login_;
  int challenges_ = 0;
};

}  // namespace tern::smtp_client
