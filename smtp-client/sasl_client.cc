#include "smtp-client/sasl_client.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "common/auth/base64.h"
#include "common/base/strings.h"

namespace tern::smtp_client {

namespace {

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

// The longest challenge we decode (LOGIN's are a dozen bytes).
constexpr size_t kMaxChallenge = 4096;

}  // namespace

Result<SaslOptions> parse_sasl_options(const std::vector<std::string>& words) {
  SaslOptions o;
  for (const auto& raw : words) {
    for (const auto& w : split_any(raw, ", \t")) {
      std::string word = to_lower(w);
      if (word.empty()) continue;
      if (word == "noplaintext") o.noplaintext = true;
      else if (word == "noanonymous") o.noanonymous = true;
      else if (word == "noactive") o.noactive = true;
      else if (word == "nodictionary") o.nodictionary = true;
      else if (word == "mutual_auth") o.mutual_auth = true;
      else return invalid("unknown SASL security option: " + word);
    }
  }
  return o;
}

SaslLogin::~SaslLogin() { wipe(password); }

Result<SaslLogin> parse_sasl_login(std::string_view value) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos || colon == 0) return invalid("not user:password");
  SaslLogin l;
  l.user = std::string(value.substr(0, colon));
  l.password = std::string(value.substr(colon + 1));
  return l;
}

std::vector<std::string> sasl_lookup_keys(std::string_view nexthop, std::string_view host) {
  std::vector<std::string> keys;
  auto add = [&](std::string k) {
    if (!k.empty() && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
  };
  add(std::string(nexthop));
  // Without the port: "[h]:25" -> "[h]", "example.org:2525" -> "example.org".
  size_t colon = nexthop.rfind(':');
  size_t bracket = nexthop.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket))
    add(std::string(nexthop.substr(0, colon)));
  add(std::string(host));
  return keys;
}

Result<SaslLogin> SaslSettings::lookup(std::string_view nexthop, std::string_view host) const {
  for (const auto& key : sasl_lookup_keys(nexthop, host)) {
    for (const auto& t : maps) {
      auto v = t->lookup(key);
      if (!v) {
        if (v.error().code == Errc::kNotFound) continue;
        return make_error(Errc::kTemporary, t->name() + ": lookup of " + key + " failed: " + v.error().text);
      }
      auto login = parse_sasl_login(*v);
      std::string value = std::move(*v);
      wipe(value);
      if (!login) return make_error(Errc::kInvalid, t->name() + ": the entry for " + key + " is " + login.error().text);
      return login;
    }
  }
  return make_error(Errc::kNotFound, "no login");
}

std::string upper_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string choose_mechanism(const std::vector<std::string>& offered, const SaslOptions& options,
                             const std::vector<std::string>& filter) {
  if (!options.plaintext_allowed()) return "";
  for (std::string_view m : {"PLAIN", "LOGIN"}) {
    bool on_offer = std::find(offered.begin(), offered.end(), m) != offered.end();
    bool filtered = !filter.empty() && std::find(filter.begin(), filter.end(), m) == filter.end();
    if (on_offer && !filtered) return std::string(m);
  }
  return "";
}

SaslClient::SaslClient(std::string mechanism, SaslLogin login)
    : mechanism_(std::move(mechanism)), login_(std::move(login)) {}

SaslClient::~SaslClient() = default;

std::string SaslClient::first_command() const {
  if (mechanism_ == "PLAIN") {
    // RFC 4616 2: authzid NUL authcid NUL passwd; no authzid (the server
    // derives it from the authcid). The initial response saves a round trip
    // (RFC 4954 4).
    std::string message;
    message += '\0';
    message += login_.user;
    message += '\0';
    message += login_.password;
    std::string line = "AUTH PLAIN " + auth::base64_encode(message) + "\r\n";
    wipe(message);
    return line;
  }
  return "AUTH " + mechanism_ + "\r\n";
}

SaslClient::Step SaslClient::on_reply(const mail::Reply& r) {
  Step s;
  if (r.code == 235) {
    s.kind = Step::Kind::kSuccess;
    return s;
  }
  if (r.code != 334) {
    s.kind = Step::Kind::kFailure;
    return s;
  }
  ++challenges_;
  std::string_view text = r.lines.empty() || r.lines.back().size() < 4 ? "" : std::string_view(r.lines.back()).substr(4);
  if (!auth::base64_decode(trim(text), kMaxChallenge)) {
    s.why = "the server sent a malformed SASL challenge";
    return s;
  }
  if (mechanism_ == "PLAIN" && challenges_ == 1) {
    // A server that ignored the initial response asks for it (RFC 4954 4).
    std::string message;
    message += '\0';
    message += login_.user;
    message += '\0';
    message += login_.password;
    s.kind = Step::Kind::kSend;
    s.line = auth::base64_encode(message) + "\r\n";
    wipe(message);
    return s;
  }
  if (mechanism_ == "LOGIN" && challenges_ <= 2) {
    // "Username:" then "Password:"; the order is what the mechanism is,
    // whatever the prompts say.
    s.kind = Step::Kind::kSend;
    s.line = auth::base64_encode(challenges_ == 1 ? login_.user : login_.password) + "\r\n";
    return s;
  }
  s.why = "the server sent more SASL challenges than " + mechanism_ + " has";
  return s;
}

}  // namespace tern::smtp_client
