#pragma once
// The SASL mechanisms authd offers: PLAIN (RFC 4616) and LOGIN (the
// de-facto draft-murchison-sasl-login), both "plaintext" in Dovecot's terms.
// A Mechanism turns client responses into either a challenge or the
// credentials to check; it never checks a password itself.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::auth {

struct Credentials {
  std::string authzid;  // "" = the same as authcid
  std::string authcid;  // the user logging in
  std::string password;
  Credentials() = default;
  Credentials(Credentials&&) = default;
  Credentials& operator=(Credentials&&) = default;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  ~Credentials();  // wipes the password
};

struct MechStep {
  // Exactly one is set: a challenge to send (CONT), or the credentials.
  std::optional<std::string> challenge;  // raw bytes (base64 on the wire)
  std::optional<Credentials> credentials;
};

class SaslMechanism {
 public:
  virtual ~SaslMechanism() = default;
  // First step: the decoded initial response, if the client sent one.
  virtual Result<MechStep> start(const std::optional<std::string>& initial) = 0;
  // Each later step with the decoded CONT data.
  virtual Result<MechStep> next(std::string_view response) = 0;
};

// "PLAIN", "LOGIN" (case-insensitive); nullptr for anything else.
std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name);

// RFC 4616: [authzid] NUL authcid NUL passwd, each without NUL, authcid and
// passwd non-empty, each at most 255 bytes.
Result<Credentials> parse_plain(std::string_view message);

}  // namespace tern::auth
