#pragma once
// Postfix's SMTP access restriction lists (smtpd_client_restrictions,
// smtpd_helo_restrictions, smtpd_sender_restrictions,
// smtpd_relay_restrictions, smtpd_recipient_restrictions), evaluated as
// Postfix does with smtpd_delay_reject = yes: all five at RCPT time, in that
// order. Within one list the first restriction that decides ends it: a
// permit (permit, permit_mynetworks, OK in a table...) ends THAT list and
// the next one is evaluated; a reject or defer ends everything; DUNNO (or a
// restriction that does not apply) goes on to the next restriction.
//
// Restrictions: permit, reject, defer, permit_mynetworks,
// permit_sasl_authenticated, reject_unauth_destination,
// defer_unauth_destination (RelayPolicy's rules, relay_policy.h: %-hack,
// bang paths, quoted "@" and source routes in a local address are relaying),
// reject_non_fqdn_sender, reject_non_fqdn_recipient,
// reject_non_fqdn_helo_hostname, reject_invalid_helo_hostname, and
// check_{client,helo,sender,recipient}_access type:table with access(5)'s
// actions: OK, DUNNO, REJECT [text], DEFER [text], 4NN text, 5NN text,
// HOLD [text], DISCARD [text], WARN text. An unknown restriction name is a
// startup error; an unknown action found in a table is a 451 4.3.5 for that
// client (Postfix's "Server configuration error") and a warning in the log.
//
// Open-relay guard (Postfix's rule): smtpd_relay_restrictions or
// smtpd_recipient_restrictions must contain reject_unauth_destination,
// defer_unauth_destination, reject or defer, or smtpd refuses to start.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/mail/smtp_path.h"
#include "common/table/table.h"
#include "smtpd/relay_policy.h"

namespace tern::smtpd {

// The five lists, in the order they are evaluated.
enum class Stage { kClient, kHelo, kSender, kRelay, kRecipient };

struct Restriction {
  enum class Kind {
    kPermit,
    kReject,
    kDefer,
    kPermitMynetworks,
    kPermitSaslAuthenticated,
    kRejectUnauthDestination,
    kDeferUnauthDestination,
    kRejectNonFqdnSender,
    kRejectNonFqdnRecipient,
    kRejectNonFqdnHeloHostname,
    kRejectInvalidHeloHostname,
    kCheckClientAccess,
    kCheckHeloAccess,
    kCheckSenderAccess,
    kCheckRecipientAccess,
  };
  Kind kind;
  const table::Table* table = nullptr;  // check_*_access; owned by Restrictions
};

using RestrictionList = std::vector<Restriction>;

// What the client says and who it is, at RCPT time.
struct RestrictionFacts {
  std::string client_name = "unknown";  // forward-confirmed, or "unknown"
  std::string client_address;
  std::string helo;  // "" before HELO/EHLO
  const mail::Address* sender = nullptr;
  const mail::Address* recipient = nullptr;
  bool authenticated = false;
};

// The outcome of all lists for one recipient.
struct Verdict {
  enum class Action {
    kAccept,  // nothing refused (the local-recipient check still follows)
    kReject,  // code, enhanced and text are the reply (reject, defer, 4NN/5NN)
  };
  Action action = Action::kAccept;
  int code = 0;
  std::string enhanced;
  std::string text;  // the reply text after the codes: "<addr>: Recipient address rejected: ..."
  bool hold = false;     // a HOLD action: the message goes to hold/
  bool discard = false;  // a DISCARD action: the message is dropped after DATA
  // HOLD, DISCARD and WARN actions, for log lines "<kind>: RCPT from ...: <text>".
  struct Note {
    std::string kind;  // "hold", "discard", "warn"
    std::string text;
  };
  std::vector<Note> notes;
  std::vector<std::string> config_errors;  // bad table values or failed lookups, for a warning line
};

class Restrictions {
 public:
  // Parses one parameter's value (already split into words). `param` names
  // it in errors. Tables named by check_*_access are opened here (before the
  // chroot) and kept by this object.
  Status set(Stage stage, std::string_view param, const std::vector<std::string>& words);
  // Postfix's open-relay guard; the error names the parameters.
  Status check_not_open_relay() const;
  // smtpd_null_access_lookup_key: the key the null sender is looked up with.
  void set_null_sender_key(std::string key) { null_key_ = std::move(key); }

  Verdict evaluate(const RestrictionFacts& facts, const RelayPolicy& relay) const;
  const RestrictionList& list(Stage stage) const { return lists_[static_cast<int>(stage)]; }

 private:
  RestrictionList lists_[5];
  std::vector<std::unique_ptr<table::Table>> tables_;
  std::string null_key_ = "<>";
};

// An access(5) value parsed: OK, DUNNO, REJECT, DEFER, NNN, HOLD, DISCARD,
// WARN, each with its optional text. kInvalid when it is none of them.
struct AccessAction {
  enum class Kind { kOk, kDunno, kReject, kDefer, kCode, kHold, kDiscard, kWarn };
  Kind kind = Kind::kDunno;
  int code = 0;          // kCode: 4NN or 5NN
  std::string enhanced;  // from the text when it starts with one ("5.7.1 ...")
  std::string text;      // the rest of the text, may be ""
};
Result<AccessAction> parse_access_action(std::string_view value);

// Lookup keys, in Postfix's order.
// An address: user@domain, domain, each parent (p, .p), user@.
std::vector<std::string> address_access_keys(const mail::Address& a, const std::string& null_key);
// A host name: name, each parent (p, .p).
std::vector<std::string> domain_access_keys(std::string_view domain);
// A client: its verified name and parents (unless "unknown"), the address,
// then its prefixes (1.2.3, 1.2, 1 for IPv4; by ':' groups for IPv6).
std::vector<std::string> client_access_keys(std::string_view name, std::string_view address);

// Host name checks of reject_non_fqdn_* and reject_invalid_helo_hostname.
bool is_fqdn(std::string_view name);
bool is_valid_hostname_or_literal(std::string_view name);

}  // namespace tern::smtpd
