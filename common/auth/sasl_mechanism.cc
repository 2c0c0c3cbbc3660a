#include "common/auth/sasl_mechanism.h"

#include <openssl/crypto.h>

#include "common/base/strings.h"

namespace tern::auth {
namespace {

constexpr size_t kMaxPart = 255;  // RFC 4616 section 2: at most 255 octets each

MechStep challenge(std::string c) {
  MechStep s;
  s.challenge = std::move(c);
  return s;
}

class Plain final : public SaslMechanism {
 public:
  Result<MechStep> start(const std::optional<std::string>& initial) override {
    if (!initial) return challenge("");  // an empty challenge asks for the message
    return finish(*initial);
  }
  Result<MechStep> next(std::string_view response) override {
    if (asked_) return invalid("unexpected continuation");
    asked_ = true;
    return finish(response);
  }

 private:
  static Result<MechStep> finish(std::string_view message) {
    auto c = parse_plain(message);
    if (!c) return c.take_error();
    MechStep s;
    s.credentials.emplace(std::move(*c));
    return s;
  }
  bool asked_ = false;
};

class Login final : public SaslMechanism {
 public:
  Result<MechStep> start(const std::optional<std::string>& initial) override {
    // An initial response is the user name (RFC-less, but what clients and
    // Dovecot do); an empty one counts as none.
    if (initial && !initial->empty()) return got_user(*initial);
    return challenge("Username:");
  }
  Result<MechStep> next(std::string_view response) override {
    if (!have_user_) return got_user(response);
    if (done_) return invalid("unexpected continuation");
    done_ = true;
    if (response.empty() || response.size() > kMaxPart || response.find('\0') != std::string_view::npos)
      return invalid("invalid password");
    MechStep s;
    s.credentials.emplace();
    s.credentials->authcid = user_;
    s.credentials->password = std::string(response);
    return s;
  }

 private:
  Result<MechStep> got_user(std::string_view u) {
    if (u.empty() || u.size() > kMaxPart || u.find('\0') != std::string_view::npos) return invalid("invalid user name");
    user_ = std::string(u);
    have_user_ = true;
    return challenge("Password:");
  }
  std::string user_;
  bool have_user_ = false;
  bool done_ = false;
};

}  // namespace

Credentials::~Credentials() {
  if (!password.empty()) OPENSSL_cleanse(password.data(), password.size());
}

Result<Credentials> parse_plain(std::string_view m) {
  size_t a = m.find('\0');
  if (a == std::string_view::npos) return invalid("invalid PLAIN message: no NUL");
  size_t b = m.find('\0', a + 1);
  if (b == std::string_view::npos) return invalid("invalid PLAIN message: one NUL");
  if (m.find('\0', b + 1) != std::string_view::npos) return invalid("invalid PLAIN message: NUL in password");
  Credentials c;
  c.authzid = std::string(m.substr(0, a));
  c.authcid = std::string(m.substr(a + 1, b - a - 1));
  c.password = std::string(m.substr(b + 1));
  if (c.authcid.empty() || c.password.empty()) return invalid("invalid PLAIN message: empty user or password");
  if (c.authzid.size() > kMaxPart || c.authcid.size() > kMaxPart || c.password.size() > kMaxPart)
    return invalid("invalid PLAIN message: a part is longer than 255 bytes");
  return c;
}

std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name) {
  if (equals_nocase(name, "PLAIN")) return std::make_unique<Plain>();
  if (equals_nocase(name, "LOGIN")) return std::make_unique<Login>();
  return nullptr;
}

}  // namespace tern::auth
