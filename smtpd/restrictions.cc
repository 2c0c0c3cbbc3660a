// Restriction lists: parsing, the open-relay guard, access(5) values and
// lookup keys, and the evaluation at RCPT time (restrictions.h).
//
// Reply codes are Postfix's defaults: reject 554 5.7.1 (reject_code),
// defer 450 4.7.1 (defer_code), the unauth_destination pair 554/450 5.7.1
// and 4.7.1 (relay_domains_reject_code), non-FQDN 504 5.5.2
// (non_fqdn_reject_code), invalid HELO 501 5.5.2 (invalid_hostname_reject_code),
// access table REJECT 554 and DEFER 450 (access_map_reject_code,
// access_map_defer_code). The text names what was refused as Postfix does:
// "<name>: Client host|Helo command|Sender address|Recipient address
// rejected: text".

#include "smtpd/restrictions.h"

#include <algorithm>
#include <cctype>

#include "common/base/strings.h"

namespace tern::smtpd {
namespace {

using Kind = Restriction::Kind;

struct NamedKind {
  const char* name;
  Kind kind;
  bool table;  // takes a type:table argument
};

constexpr NamedKind kNames[] = {
    {"permit", Kind::kPermit, false},
    {"reject", Kind::kReject, false},
    {"defer", Kind::kDefer, false},
    {"permit_mynetworks", Kind::kPermitMynetworks, false},
    {"permit_sasl_authenticated", Kind::kPermitSaslAuthenticated, false},
    {"reject_unauth_destination", Kind::kRejectUnauthDestination, false},
    {"defer_unauth_destination", Kind::kDeferUnauthDestination, false},
    {"reject_non_fqdn_sender", Kind::kRejectNonFqdnSender, false},
    {"reject_non_fqdn_recipient", Kind::kRejectNonFqdnRecipient, false},
    {"reject_non_fqdn_helo_hostname", Kind::kRejectNonFqdnHeloHostname, false},
    {"reject_invalid_helo_hostname", Kind::kRejectInvalidHeloHostname, false},
    {"check_client_access", Kind::kCheckClientAccess, true},
    {"check_helo_access", Kind::kCheckHeloAccess, true},
    {"check_sender_access", Kind::kCheckSenderAccess, true},
    {"check_recipient_access", Kind::kCheckRecipientAccess, true},
};

// A reply text from a table is bounded so the reply line stays within
// RFC 5321 4.5.3.1.5's 512 octets with the name in front of it.
constexpr size_t kMaxTextLength = 300;

bool is_enhanced_code(std::string_view s) {
  // RFC 3463 2: class.subject.detail, subject up to 3 digits, detail up to 3.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
  if (digits == 0 || i >= s.size() || s[i] != '.') return false;
  ++i;
  digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 3) ++i, ++digits;
  return digits > 0 && i == s.size();
}

bool is_label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Which restriction names the thing a reply is about.
enum class Subject { kClient, kHelo, kSender, kRecipient };

const char* subject_class(Subject s) {
  switch (s) {
    case Subject::kClient: return "Client host";
    case Subject::kHelo: return "Helo command";
    case Subject::kSender: return "Sender address";
    case Subject::kRecipient: return "Recipient address";
  }
  return "";
}

Subject stage_subject(Stage stage) {
  switch (stage) {
    case Stage::kClient: return Subject::kClient;
    case Stage::kHelo: return Subject::kHelo;
    case Stage::kSender: return Subject::kSender;
    case Stage::kRelay:
    case Stage::kRecipient: return Subject::kRecipient;
  }
  return Subject::kRecipient;
}

// One list's result.
enum class Outcome { kNext, kPermit, kStop };

class Evaluator {
 public:
  Evaluator(const RestrictionFacts& f, const RelayPolicy& relay, const std::string& null_key, Verdict* v)
      : f_(f), relay_(relay), null_key_(null_key), v_(*v) {}

  Outcome run(Stage stage, const RestrictionList& list) {
    for (const Restriction& r : list) {
      Outcome o = one(stage, r);
      if (o != Outcome::kNext) return o;
    }
    return Outcome::kNext;
  }

 private:
  std::string name_of(Subject s) const {
    switch (s) {
      case Subject::kClient: return f_.client_name + "[" + f_.client_address + "]";
      case Subject::kHelo: return f_.helo;
      case Subject::kSender: return f_.sender ? f_.sender->str() : "";
      case Subject::kRecipient: return f_.recipient ? f_.recipient->str() : "";
    }
    return "";
  }

  Outcome reject(int code, std::string enhanced, Subject s, std::string_view why) {
    v_.action = Verdict::Action::kReject;
    v_.code = code;
    v_.enhanced = std::move(enhanced);
    v_.text = "<" + name_of(s) + ">: " + subject_class(s) + " rejected: " + std::string(why);
    return Outcome::kStop;
  }

  Outcome unauth_destination(bool defer) {
    if (!f_.recipient) return Outcome::kNext;
    RelayVerdict d = relay_.destination(*f_.recipient);
    if (d == RelayVerdict::kLocal) return Outcome::kNext;
    v_.action = Verdict::Action::kReject;
    v_.code = defer ? 450 : 554;
    v_.enhanced = defer ? "4.7.1" : "5.7.1";
    v_.text = "<" + f_.recipient->str() + ">: Relay access denied";
    if (d == RelayVerdict::kRouting) v_.text += " (sender-specified routing)";
    return Outcome::kStop;
  }

  Outcome non_fqdn_address(const mail::Address* a, Subject s) {
    if (!a || a->is_null || a->is_postmaster) return Outcome::kNext;  // RFC 5321 4.5.1
    if (a->is_address_literal || is_fqdn(a->domain_lower)) return Outcome::kNext;
    return reject(504, "5.5.2", s, "need fully-qualified address");
  }

  Outcome access(Subject s, const table::Table& t, const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      auto value = t.lookup(key);
      if (!value) {
        if (value.error().code == Errc::kNotFound || value.error().code == Errc::kInvalid) continue;
        v_.config_errors.push_back(t.name() + ": lookup of " + key + " failed: " + value.error().text);
        v_.action = Verdict::Action::kReject;
        v_.code = 451;
        v_.enhanced = "4.3.0";
        v_.text = "<" + name_of(s) + ">: Temporary lookup failure";
        return Outcome::kStop;
      }
      return act(s, t, key, *value);
    }
    return Outcome::kNext;
  }

  Outcome act(Subject s, const table::Table& t, const std::string& key, const std::string& value) {
    auto a = parse_access_action(value);
    if (!a) {
      v_.config_errors.push_back(t.name() + ": key " + key + ": " + a.error().text);
      v_.action = Verdict::Action::kReject;
      v_.code = 451;
      v_.enhanced = "4.3.5";
      v_.text = "Server configuration error";
      return Outcome::kStop;
    }
    const std::string what = "<" + name_of(s) + ">: " + subject_class(s);
    switch (a->kind) {
      case AccessAction::Kind::kOk: return Outcome::kPermit;
      case AccessAction::Kind::kDunno: return Outcome::kNext;
      case AccessAction::Kind::kReject:
        return reject(554, a->enhanced.empty() ? "5.7.1" : a->enhanced, s,
                      a->text.empty() ? "Access denied" : a->text);
      case AccessAction::Kind::kDefer:
        return reject(450, a->enhanced.empty() ? "4.7.1" : a->enhanced, s,
                      a->text.empty() ? "Access denied" : a->text);
      case AccessAction::Kind::kCode: {
        std::string enhanced = a->enhanced;
        if (enhanced.empty()) enhanced = a->code >= 500 ? "5.7.1" : "4.7.1";
        return reject(a->code, enhanced, s, a->text.empty() ? "Access denied" : a->text);
      }
      // HOLD and WARN go on (DUNNO); DISCARD accepts the recipient (OK), as
      // Postfix's check_table_result does.
      case AccessAction::Kind::kHold:
        v_.hold = true;
        v_.notes.push_back({"hold", what + " " + (a->text.empty() ? "triggers HOLD action" : a->text)});
        return Outcome::kNext;
      case AccessAction::Kind::kDiscard:
        v_.discard = true;
        v_.notes.push_back({"discard", what + " " + (a->text.empty() ? "triggers DISCARD action" : a->text)});
        return Outcome::kPermit;
      case AccessAction::Kind::kWarn:
        v_.notes.push_back({"warn", what + " triggers WARN action" + (a->text.empty() ? "" : ": " + a->text)});
        return Outcome::kNext;
    }
    return Outcome::kNext;
  }

  Outcome one(Stage stage, const Restriction& r) {
    switch (r.kind) {
      case Kind::kPermit: return Outcome::kPermit;
      case Kind::kReject: return reject(554, "5.7.1", stage_subject(stage), "Access denied");
      case Kind::kDefer: return reject(450, "4.7.1", stage_subject(stage), "Access denied");
      case Kind::kPermitMynetworks:
        return relay_.in_mynetworks(f_.client_address) ? Outcome::kPermit : Outcome::kNext;
      case Kind::kPermitSaslAuthenticated: return f_.authenticated ? Outcome::kPermit : Outcome::kNext;
      case Kind::kRejectUnauthDestination: return unauth_destination(false);
      case Kind::kDeferUnauthDestination: return unauth_destination(true);
      case Kind::kRejectNonFqdnSender: return non_fqdn_address(f_.sender, Subject::kSender);
      case Kind::kRejectNonFqdnRecipient: return non_fqdn_address(f_.recipient, Subject::kRecipient);
      case Kind::kRejectNonFqdnHeloHostname:
        if (f_.helo.empty() || f_.helo.front() == '[' || is_fqdn(f_.helo)) return Outcome::kNext;
        return reject(504, "5.5.2", Subject::kHelo, "need fully-qualified hostname");
      case Kind::kRejectInvalidHeloHostname:
        if (f_.helo.empty() || is_valid_hostname_or_literal(f_.helo)) return Outcome::kNext;
        return reject(501, "5.5.2", Subject::kHelo, "Invalid name");
      case Kind::kCheckClientAccess:
        return access(Subject::kClient, *r.table, client_access_keys(f_.client_name, f_.client_address));
      case Kind::kCheckHeloAccess:
        if (f_.helo.empty()) return Outcome::kNext;
        return access(Subject::kHelo, *r.table, domain_access_keys(to_lower(f_.helo)));
      case Kind::kCheckSenderAccess:
        if (!f_.sender) return Outcome::kNext;
        return access(Subject::kSender, *r.table, address_access_keys(*f_.sender, null_key_));
      case Kind::kCheckRecipientAccess:
        if (!f_.recipient) return Outcome::kNext;
        return access(Subject::kRecipient, *r.table, address_access_keys(*f_.recipient, null_key_));
    }
    return Outcome::kNext;
  }

  const RestrictionFacts& f_;
  const RelayPolicy& relay_;
  const std::string& null_key_;
  Verdict& v_;
};

}  // namespace

Status Restrictions::set(Stage stage, std::string_view param, const std::vector<std::string>& words) {
  RestrictionList list;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string word = to_lower(words[i]);
    auto it = std::find_if(std::begin(kNames), std::end(kNames), [&](const NamedKind& n) { return word == n.name; });
    if (it == std::end(kNames))
      return invalid(std::string(param) + ": unknown restriction \"" + words[i] + "\"");
    Restriction r{it->kind};
    if (it->table) {
      if (i + 1 >= words.size())
        return invalid(std::string(param) + ": " + it->name + " needs a table (type:name) after it");
      auto t = table::open(words[++i]);
      if (!t) return make_error(t.error().code, std::string(param) + ": " + it->name + ": " + t.error().text);
      r.table = t->get();
      tables_.push_back(std::move(*t));
    }
    list.push_back(r);
  }
  lists_[static_cast<int>(stage)] = std::move(list);
  return {};
}

Status Restrictions::check_not_open_relay() const {
  for (Stage s : {Stage::kRelay, Stage::kRecipient}) {
    for (const Restriction& r : list(s)) {
      if (r.kind == Kind::kRejectUnauthDestination || r.kind == Kind::kDeferUnauthDestination ||
          r.kind == Kind::kReject || r.kind == Kind::kDefer)
        return {};
    }
  }
  return invalid(
      "the smtpd_relay_restrictions and smtpd_recipient_restrictions parameters do not contain one of "
      "reject_unauth_destination, defer_unauth_destination, reject or defer: refusing to run an open relay");
}

Verdict Restrictions::evaluate(const RestrictionFacts& facts, const RelayPolicy& relay) const {
  Verdict v;
  Evaluator e(facts, relay, null_key_, &v);
  for (Stage s : {Stage::kClient, Stage::kHelo, Stage::kSender, Stage::kRelay, Stage::kRecipient}) {
    if (e.run(s, list(s)) == Outcome::kStop) return v;
  }
  return v;
}

Result<AccessAction> parse_access_action(std::string_view value) {
  std::string_view v = trim(value);
  size_t space = v.find_first_of(" \t");
  std::string_view word = v.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? std::string_view() : trim(v.substr(space));
  AccessAction a;
  std::string upper;
  for (char c : word) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  bool digits = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (upper == "OK") a.kind = AccessAction::Kind::kOk;
  else if (upper == "DUNNO") a.kind = AccessAction::Kind::kDunno;
  else if (upper == "REJECT") a.kind = AccessAction::Kind::kReject;
  else if (upper == "DEFER") a.kind = AccessAction::Kind::kDefer;
  else if (upper == "HOLD") a.kind = AccessAction::Kind::kHold;
  else if (upper == "DISCARD") a.kind = AccessAction::Kind::kDiscard;
  else if (upper == "WARN") a.kind = AccessAction::Kind::kWarn;
  else if (digits && word.size() == 3 && (word[0] == '4' || word[0] == '5')) {
    a.kind = AccessAction::Kind::kCode;
    a.code = (word[0] - '0') * 100 + (word[1] - '0') * 10 + (word[2] - '0');
  } else if (digits && !rest.empty()) {
    return invalid("bad reply code \"" + std::string(word) + "\" (expected 4NN or 5NN text)");
  } else if (digits) {
    a.kind = AccessAction::Kind::kOk;  // access(5): an all-numeric value means OK
  } else {
    return invalid("unknown access table action \"" + std::string(word) + "\"");
  }
  if (a.kind == AccessAction::Kind::kOk || a.kind == AccessAction::Kind::kDunno) {
    if (!rest.empty()) return invalid(upper + " takes no text");
    return a;
  }
  // RFC 3463: an enhanced code at the start of the text is used when its
  // class agrees with the reply code (Postfix's rule).
  size_t sp = rest.find_first_of(" \t");
  std::string_view first = rest.substr(0, sp);
  char cls = a.kind == AccessAction::Kind::kCode ? static_cast<char>('0' + a.code / 100)
             : a.kind == AccessAction::Kind::kDefer ? '4'
                                                     : '5';
  if (is_enhanced_code(first) && first[0] == cls && a.kind != AccessAction::Kind::kHold &&
      a.kind != AccessAction::Kind::kDiscard && a.kind != AccessAction::Kind::kWarn) {
    a.enhanced = std::string(first);
    rest = sp == std::string_view::npos ? std::string_view() : trim(rest.substr(sp));
  }
  a.text = std::string(rest.substr(0, kMaxTextLength));
  for (char& c : a.text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return a;
}

std::vector<std::string> domain_access_keys(std::string_view domain) {
  std::vector<std::string> keys;
  if (domain.empty()) return keys;
  keys.emplace_back(domain);
  // Parents, nearest first. "example.com" matches its subdomains as Postfix's
  // default parent_domain_matches_subdomains (smtpd_access_maps) has it;
  // ".example.com" matches subdomains only.
  for (size_t dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1)) {
    std::string_view parent = domain.substr(dot + 1);
    if (parent.empty()) break;
    keys.emplace_back(parent);
    keys.push_back("." + std::string(parent));
  }
  return keys;
}

std::vector<std::string> address_access_keys(const mail::Address& a, const std::string& null_key) {
  if (a.is_null) return {null_key};
  if (a.is_postmaster) return {"postmaster"};
  std::string local = to_lower(a.local_quoted);
  std::vector<std::string> keys{local + "@" + a.domain_lower};
  for (auto& k : domain_access_keys(a.domain_lower)) keys.push_back(std::move(k));
  keys.push_back(local + "@");
  return keys;
}

std::vector<std::string> client_access_keys(std::string_view name, std::string_view address) {
  std::vector<std::string> keys;
  if (!name.empty() && name != "unknown") keys = domain_access_keys(to_lower(name));
  if (address.empty()) return keys;
  keys.emplace_back(address);
  char sep = address.find(':') != std::string_view::npos ? ':' : '.';
  std::string_view a = address;
  for (size_t cut = a.rfind(sep); cut != std::string_view::npos && cut > 0; cut = a.rfind(sep)) {
    a = a.substr(0, cut);
    if (!a.empty() && a.back() != sep) keys.emplace_back(a);
  }
  return keys;
}

bool is_valid_hostname_or_literal(std::string_view name) {
  if (name.size() > 255) return false;
  if (name.front() == '[') {
    // RFC 5321 4.1.3: [IPv4] or [IPv6:...]; checked loosely for shape.
    if (name.back() != ']' || name.size() < 3) return false;
    std::string_view inner = name.substr(1, name.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':';
    });
  }
  if (name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), is_label_char)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool is_fqdn(std::string_view name) {
  if (name.empty() || !is_valid_hostname_or_literal(name) || name.front() == '[') return false;
  if (name.back() == '.') name.remove_suffix(1);
  return name.find('.') != std::string_view::npos;
}

}  // namespace tern::smtpd
