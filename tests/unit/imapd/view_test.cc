#include "imapd/view.h"

#include <catch2/catch.hpp>

using namespace tern::imapd;

namespace {

std::shared_ptr<const Snapshot> snap(std::vector<SnapMessage> msgs, uint32_t uidnext = 100) {
  auto s = std::make_shared<Snapshot>();
  s->uidvalidity = 7;
  s->uidnext = uidnext;
  s->messages = std::move(msgs);
  s->keywords[0] = "$Junk";
  return s;
}

SnapMessage msg(uint32_t uid, uint8_t system = 0, uint32_t keywords = 0, bool in_new = false) {
  SnapMessage m;
  m.uid = uid;
  m.system = system;
  m.keywords = keywords;
  m.in_new = in_new;
  return m;
}

View::ClaimRecent claim_new() {
  return [](const SnapMessage& m) { return m.in_new; };
}

}  // namespace

TEST_CASE("view: a new message is EXISTS and RECENT, a flag change FETCH FLAGS", "[imapd]") {
  View v;
  v.reset(snap({msg(1), msg(2, tern::store::kFlagSeen)}), claim_new());
  REQUIRE(v.size() == 2);
  CHECK(v.first_unseen() == 1);
  std::string out;
  v.update(snap({msg(1, tern::store::kFlagFlagged, 1), msg(2, tern::store::kFlagSeen), msg(5, 0, 0, true)}),
           true, false, claim_new(), &out);
  CHECK(out == "* 1 FETCH (FLAGS (\\Flagged $Junk))\r\n* 3 EXISTS\r\n* 1 RECENT\r\n");
  CHECK(v.seq_of(5) == 3);
  CHECK(v.seq_of(4) == 0);
}

TEST_CASE("view: expunges wait while not allowed, then go from the highest number down", "[imapd]") {
  View v;
  v.reset(snap({msg(1), msg(2), msg(3), msg(4)}), nullptr);
  std::string out;
  auto after = snap({msg(1), msg(3), msg(6)});
  v.update(after, false, false, nullptr, &out);
  // UIDs 2 and 4 are gone, but a FETCH is being answered: numbers stay.
  CHECK(out == "* 5 EXISTS\r\n* 0 RECENT\r\n");
  CHECK(v.size() == 5);
  CHECK(v.pending(after));
  out.clear();
  v.update(after, true, false, nullptr, &out);
  CHECK(out == "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n");
  CHECK(v.size() == 3);
  CHECK(v.at(3).uid == 6);
  CHECK_FALSE(v.pending(after));
}

TEST_CASE("view: expunges and new mail at once leave EXISTS with the final count", "[imapd]") {
  View v;
  v.reset(snap({msg(1), msg(2)}), nullptr);
  std::string out;
  v.update(snap({msg(2), msg(3)}), true, true, nullptr, &out);
  CHECK(out == "* 1 EXPUNGE\r\n* 2 EXISTS\r\n* 0 RECENT\r\n");
}
