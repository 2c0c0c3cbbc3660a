#include "smtpd/restrictions.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/base/strings.h"
#include "tests/unit/support/address.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::smtpd;

namespace {

using test::address;

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  for (auto w : split_any(text, ", ")) out.emplace_back(w);
  return out;
}

RelayPolicy policy() {
  RelayPolicy p;
  p.local_domains = {"example.test"};
  auto n = Network::parse("10.0.0.0/8");
  REQUIRE(n.ok());
  p.mynetworks.push_back(*n);
  return p;
}

const char* kDefaultRelay = "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination";

// One RCPT evaluated against the given lists.
struct Case {
  Restrictions r;
  RelayPolicy relay = policy();
  mail::Address sender = address("<alice@sender.test>");
  mail::Address rcpt = address("<bob@example.test>");
  RestrictionFacts facts;

  Case() {
    REQUIRE(r.set(Stage::kRelay, "smtpd_relay_restrictions", words(kDefaultRelay)).ok());
    facts.client_name = "mx.client.test";
    facts.client_address = "192.0.2.7";
    facts.helo = "mx.client.test";
  }
  void set(Stage s, std::string_view list) { REQUIRE(r.set(s, "param", words(list)).ok()); }
  Verdict run(std::string_view to = "") {
    if (!to.empty()) rcpt = address(to);
    facts.sender = &sender;
    facts.recipient = &rcpt;
    return r.evaluate(facts, relay);
  }
};

}  // namespace

TEST_CASE("restrictions: the default relay list accepts local domains and refuses strangers' relaying", "[smtpd]") {
  Case c;
  CHECK(c.run().action == Verdict::Action::kAccept);
  Verdict v = c.run("<x@elsewhere.test>");
  CHECK(v.action == Verdict::Action::kReject);
  CHECK(v.code == 554);
  CHECK(v.enhanced == "5.7.1");
  CHECK(v.text == "<x@elsewhere.test>: Relay access denied");
  CHECK(c.run("<other.test!x@example.test>").text == "<other.test!x@example.test>: Relay access denied (sender-specified routing)");
  CHECK(c.run("<x%other.test@example.test>").action == Verdict::Action::kReject);
  CHECK(c.run("<\"x@other.test\"@example.test>").action == Verdict::Action::kReject);
  CHECK(c.run("<@example.test:x@other.test>").action == Verdict::Action::kReject);
  CHECK(c.run("<Postmaster>").action == Verdict::Action::kAccept);
  c.facts.client_address = "10.1.2.3";  // mynetworks
  CHECK(c.run("<x@elsewhere.test>").action == Verdict::Action::kAccept);
  c.facts.client_address = "192.0.2.7";
  c.facts.authenticated = true;
  CHECK(c.run("<x@elsewhere.test>").action == Verdict::Action::kAccept);
}

TEST_CASE("restrictions: defer_unauth_destination answers 450 4.7.1", "[smtpd]") {
  Case c;
  c.set(Stage::kRelay, "defer_unauth_destination");
  Verdict v = c.run("<x@elsewhere.test>");
  CHECK(v.code == 450);
  CHECK(v.enhanced == "4.7.1");
}

TEST_CASE("restrictions: parsing refuses unknown names and a check without its table", "[smtpd]") {
  Restrictions r;
  auto s = r.set(Stage::kRecipient, "smtpd_recipient_restrictions", words("permit_mynetworks, reject_unknown_thing"));
  REQUIRE(!s.ok());
  CHECK(s.error().text == "smtpd_recipient_restrictions: unknown restriction \"reject_unknown_thing\"");
  s = r.set(Stage::kRecipient, "smtpd_recipient_restrictions", words("check_recipient_access"));
  REQUIRE(!s.ok());
  CHECK(s.error().text.find("needs a table") != std::string::npos);
  s = r.set(Stage::kRecipient, "smtpd_recipient_restrictions", words("check_recipient_access hash:/etc/x"));
  REQUIRE(!s.ok());
  CHECK(r.set(Stage::kRecipient, "p", words("PERMIT_MYNETWORKS, check_recipient_access static:OK")).ok());
}

TEST_CASE("restrictions: the open-relay guard wants a reject or unauth_destination in relay or recipient lists",
          "[smtpd]") {
  struct Row {
    const char* relay;
    const char* recipient;
    bool ok;
  };
  const Row rows[] = {
      {kDefaultRelay, "", true},
      {"", "", false},
      {"permit_mynetworks", "", false},
      {"permit_mynetworks", "permit_sasl_authenticated", false},
      {"", "permit_mynetworks, reject_unauth_destination", true},
      {"", "defer_unauth_destination", true},
      {"permit_mynetworks, reject", "", true},
      {"", "defer", true},
      {"check_recipient_access static:OK", "", false},
  };
  for (const Row& row : rows) {
    Restrictions r;
    REQUIRE(r.set(Stage::kRelay, "smtpd_relay_restrictions", words(row.relay)).ok());
    REQUIRE(r.set(Stage::kRecipient, "smtpd_recipient_restrictions", words(row.recipient)).ok());
    INFO(row.relay << " / " << row.recipient);
    auto s = r.check_not_open_relay();
    CHECK(s.ok() == row.ok);
    if (!s.ok()) CHECK(s.error().text.find("smtpd_relay_restrictions and smtpd_recipient_restrictions") != std::string::npos);
  }
}

TEST_CASE("restrictions: the lists run client, helo, sender, relay, recipient, permit ends only its own list",
          "[smtpd]") {
  Case c;
  c.set(Stage::kClient, "permit, reject");  // permit ends the client list only
  c.set(Stage::kRecipient, "reject");
  Verdict v = c.run();
  CHECK(v.code == 554);
  CHECK(v.text == "<bob@example.test>: Recipient address rejected: Access denied");
  c.set(Stage::kRecipient, "");
  c.set(Stage::kHelo, "reject");
  CHECK(c.run().text == "<mx.client.test>: Helo command rejected: Access denied");
  c.set(Stage::kClient, "defer");  // the client list comes first
  v = c.run();
  CHECK(v.code == 450);
  CHECK(v.text == "<mx.client.test[192.0.2.7]>: Client host rejected: Access denied");
  c.set(Stage::kClient, "");
  c.set(Stage::kHelo, "");
  c.set(Stage::kSender, "reject");
  CHECK(c.run().text == "<alice@sender.test>: Sender address rejected: Access denied");
  // A reject in the relay list ends everything, before the recipient list.
  c.set(Stage::kSender, "");
  c.set(Stage::kRecipient, "check_recipient_access static:HOLD");
  v = c.run("<x@elsewhere.test>");
  CHECK(v.text == "<x@elsewhere.test>: Relay access denied");
  CHECK(!v.hold);
}

TEST_CASE("restrictions: reject_non_fqdn_* and reject_invalid_helo_hostname", "[smtpd]") {
  Case c;
  c.set(Stage::kRecipient, "reject_non_fqdn_helo_hostname");
  c.facts.helo = "mybox";
  Verdict v = c.run();
  CHECK(v.code == 504);
  CHECK(v.enhanced == "5.5.2");
  CHECK(v.text == "<mybox>: Helo command rejected: need fully-qualified hostname");
  c.facts.helo = "[192.0.2.7]";
  CHECK(c.run().action == Verdict::Action::kAccept);
  c.set(Stage::kRecipient, "reject_invalid_helo_hostname");
  c.facts.helo = "bad_host!name";
  v = c.run();
  CHECK(v.code == 501);
  CHECK(v.text == "<bad_host!name>: Helo command rejected: Invalid name");
  c.facts.helo = "-bad.example";
  CHECK(c.run().code == 501);
  c.facts.helo = "mybox";  // valid, just not qualified
  CHECK(c.run().action == Verdict::Action::kAccept);
  c.set(Stage::kRecipient, "reject_non_fqdn_sender");
  c.sender = address("<alice@localhost>");
  v = c.run();
  CHECK(v.code == 504);
  CHECK(v.text == "<alice@localhost>: Sender address rejected: need fully-qualified address");
  c.sender = address("<>");
  CHECK(c.run().action == Verdict::Action::kAccept);
  c.set(Stage::kRelay, "permit");
  c.set(Stage::kRecipient, "reject_non_fqdn_recipient, reject");
  v = c.run("<bob@intranet>");
  CHECK(v.code == 504);
  CHECK(v.text == "<bob@intranet>: Recipient address rejected: need fully-qualified address");
  CHECK(c.run("<bob@[192.0.2.1]>").code == 554);  // a literal is qualified: on to reject
}

TEST_CASE("restrictions: access(5) values", "[smtpd]") {
  struct Row {
    const char* value;
    AccessAction::Kind kind;
    int code;
    const char* enhanced;
    const char* text;
  };
  using K = AccessAction::Kind;
  const Row rows[] = {
      {"OK", K::kOk, 0, "", ""},
      {"ok", K::kOk, 0, "", ""},
      {"1234", K::kOk, 0, "", ""},
      {"DUNNO", K::kDunno, 0, "", ""},
      {"REJECT", K::kReject, 0, "", ""},
      {"REJECT go away", K::kReject, 0, "", "go away"},
      {"REJECT 5.7.9 go away", K::kReject, 0, "5.7.9", "go away"},
      {"REJECT 4.7.9 go away", K::kReject, 0, "", "4.7.9 go away"},
      {"DEFER try later", K::kDefer, 0, "", "try later"},
      {"DEFER 4.3.2 busy", K::kDefer, 0, "4.3.2", "busy"},
      {"550 5.1.1 no such user", K::kCode, 550, "5.1.1", "no such user"},
      {"421 closing", K::kCode, 421, "", "closing"},
      {"HOLD", K::kHold, 0, "", ""},
      {"HOLD look at it", K::kHold, 0, "", "look at it"},
      {"DISCARD", K::kDiscard, 0, "", ""},
      {"WARN odd sender", K::kWarn, 0, "", "odd sender"},
  };
  for (const Row& row : rows) {
    INFO(row.value);
    auto a = parse_access_action(row.value);
    REQUIRE(a.ok());
    CHECK(a->kind == row.kind);
    CHECK(a->code == row.code);
    CHECK(a->enhanced == row.enhanced);
    CHECK(a->text == row.text);
  }
  for (const char* bad : {"FILTER smtp:x", "BOGUS", "OK but", "650 text", "12 text", "PREPEND X-Foo: 1"}) {
    INFO(bad);
    CHECK(!parse_access_action(bad).ok());
  }
}

TEST_CASE("restrictions: lookup keys in Postfix's order", "[smtpd]") {
  CHECK(address_access_keys(address("<Bob@Mail.Example.TEST>"), "<>") ==
        std::vector<std::string>{"bob@mail.example.test", "mail.example.test", "example.test", ".example.test", "test",
                                 ".test", "bob@"});
  CHECK(address_access_keys(address("<>"), "<>") == std::vector<std::string>{"<>"});
  CHECK(address_access_keys(address("<>"), "null") == std::vector<std::string>{"null"});
  CHECK(client_access_keys("mx.client.test", "192.0.2.7") ==
        std::vector<std::string>{"mx.client.test", "client.test", ".client.test", "test", ".test", "192.0.2.7",
                                 "192.0.2", "192.0", "192"});
  CHECK(client_access_keys("unknown", "192.0.2.7") == std::vector<std::string>{"192.0.2.7", "192.0.2", "192.0", "192"});
  CHECK(client_access_keys("unknown", "2001:db8::1") ==
        std::vector<std::string>{"2001:db8::1", "2001:db8", "2001"});
}

TEST_CASE("restrictions: check_*_access tables act on the first key found", "[smtpd]") {
  test::TempDir dir;
  Case c;
  std::string rcpt_table = dir.write("rcpt",
                                     "bob@example.test REJECT no mail for bob\n"
                                     "held@example.test HOLD\n"
                                     "gone@example.test DISCARD\n"
                                     "warned@example.test WARN watch this\n"
                                     "broken@example.test FROBNICATE\n"
                                     "coded@example.test 452 4.2.2 mailbox full\n"
                                     "example.test DUNNO\n");
  c.set(Stage::kRecipient, "check_recipient_access texthash:" + rcpt_table + ", reject");
  Verdict v = c.run("<bob@example.test>");
  CHECK(v.code == 554);
  CHECK(v.enhanced == "5.7.1");
  CHECK(v.text == "<bob@example.test>: Recipient address rejected: no mail for bob");
  v = c.run("<held@example.test>");  // HOLD goes on (DUNNO) to the reject
  CHECK(v.hold);
  CHECK(v.code == 554);
  REQUIRE(v.notes.size() == 1);
  CHECK(v.notes[0].kind == "hold");
  CHECK(v.notes[0].text == "<held@example.test>: Recipient address triggers HOLD action");
  v = c.run("<gone@example.test>");  // DISCARD permits
  CHECK(v.discard);
  CHECK(v.action == Verdict::Action::kAccept);
  v = c.run("<warned@example.test>");
  REQUIRE(v.notes.size() == 1);
  CHECK(v.notes[0].text == "<warned@example.test>: Recipient address triggers WARN action: watch this");
  v = c.run("<broken@example.test>");
  CHECK(v.code == 451);
  CHECK(v.enhanced == "4.3.5");
  CHECK(v.config_errors.size() == 1);
  v = c.run("<coded@example.test>");
  CHECK(v.code == 452);
  CHECK(v.enhanced == "4.2.2");
  CHECK(v.text == "<coded@example.test>: Recipient address rejected: mailbox full");
  // "example.test DUNNO" is found before "carol@": the reject at the end decides.
  CHECK(c.run("<carol@example.test>").code == 554);

  std::string senders = dir.write("senders", "friend@sender.test OK\nsender.test REJECT\n<> OK\n");
  c.set(Stage::kRecipient, "");
  c.set(Stage::kSender, "check_sender_access texthash:" + senders + ", reject");
  c.sender = address("<friend@sender.test>");
  CHECK(c.run("<bob@example.test>").action == Verdict::Action::kAccept);
  c.sender = address("<stranger@sub.sender.test>");
  CHECK(c.run().text == "<stranger@sub.sender.test>: Sender address rejected: Access denied");
  c.sender = address("<>");
  CHECK(c.run().action == Verdict::Action::kAccept);

  std::string clients = dir.write("clients", "192.0.2 REJECT no clients from this net\n10 OK\n");
  c.set(Stage::kSender, "");
  c.set(Stage::kClient, "check_client_access texthash:" + clients);
  v = c.run();
  CHECK(v.code == 554);
  CHECK(v.text == "<mx.client.test[192.0.2.7]>: Client host rejected: no clients from this net");
  c.facts.client_address = "198.51.100.1";
  CHECK(c.run().action == Verdict::Action::kAccept);

  std::string helos = dir.write("helos", ".client.test REJECT you are not me\n");
  c.set(Stage::kClient, "");
  c.set(Stage::kHelo, "check_helo_access texthash:" + helos);
  CHECK(c.run().text == "<mx.client.test>: Helo command rejected: you are not me");
}
