#include "common/store/flags.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

using namespace tern::store;

}  // namespace

TEST_CASE("flags: suffixes read into system flags, keywords and what is kept", "[store]") {
  struct Case {
    std::string_view suffix;
    uint8_t system;
    uint32_t keywords;
    std::string_view other;
    std::string_view extension;
    std::string_view canonical;
  };
  const Case cases[] = {
      {"", 0, 0, "", "", ""},
      {"S", kFlagSeen, 0, "", "", "S"},
      {"DFRST", kAllSystemFlags, 0, "", "", "DFRST"},
      {"TSRFD", kAllSystemFlags, 0, "", "", "DFRST"},  // unsorted: written sorted
      {"SS", kFlagSeen, 0, "", "", "S"},               // repeated: once
      {"Sac", kFlagSeen, 0b101, "", "", "Sac"},
      {"za", 0, (1u << 25) | 1u, "", "", "az"},
      {"PS", kFlagSeen, 0, "P", "", "PS"},             // passed: kept
      {"SXP9", kFlagSeen, 0, "9PX", "", "9PSX"},       // unknown letters kept, merged in order
      {"S~", kFlagSeen, 0, "~", "", "S~"},             // above 'z'
      {"S[", kFlagSeen, 0, "[", "", "S["},             // between 'Z' and 'a'
      {"FS,W=12", kFlagFlagged | kFlagSeen, 0, "", ",W=12", "FS,W=12"},  // Dovecot's extension fields
      {",x", 0, 0, "", ",x", ",x"},
  };
  for (const Case& c : cases) {
    INFO(c.suffix);
    MessageFlags f = parse_flags(c.suffix);
    CHECK(f.system == c.system);
    CHECK(f.keywords == c.keywords);
    CHECK(f.other == c.other);
    CHECK(f.extension == c.extension);
    CHECK(format_flags(f) == c.canonical);
    CHECK(parse_flags(format_flags(f)) == f);
  }
}

TEST_CASE("flags: file names with and without a suffix", "[store]") {
  CHECK(flags_of_name("1700000000.M1P2Q3.h,S=5,W=5") == MessageFlags{});
  CHECK(flags_of_name("1700000000.M1P2Q3.h,S=5,W=5:2,").system == 0);
  CHECK(flags_of_name("1700000000.M1P2Q3.h:2,RS").system == (kFlagAnswered | kFlagSeen));
  // Another info version is part of the base: no flags.
  CHECK(flags_of_name("1700000000.M1P2Q3.h:1,S") == MessageFlags{});

  MessageFlags seen;
  seen.system = kFlagSeen;
  CHECK(name_with_flags("b,S=5,W=5", seen) == "b,S=5,W=5:2,S");
  CHECK(name_with_flags("b,S=5,W=5:2,", seen) == "b,S=5,W=5:2,S");
  CHECK(name_with_flags("b:2,FS", MessageFlags{}) == "b:2,");
  CHECK(name_with_flags("b:1,x", seen) == "b:1,x:2,S");  // the base is kept whole

  // A change keeps what Tern does not own.
  MessageFlags current = flags_of_name("b:2,PSa,X=1");
  MessageFlags next = apply_flags(current, FlagOp::kReplace, kFlagFlagged, 0b10);
  CHECK(name_with_flags("b:2,PSa,X=1", next) == "b:2,FPb,X=1");
  next = apply_flags(current, FlagOp::kAdd, kFlagDeleted | kFlagSeen, 1u << 25);
  CHECK(format_flags(next) == "PSTaz,X=1");
  next = apply_flags(current, FlagOp::kRemove, kFlagSeen, 1u);
  CHECK(format_flags(next) == "P,X=1");
  // Bits past the 26 letters or the five system flags are ignored.
  next = apply_flags({}, FlagOp::kAdd, 0xff, 0xffffffffu);
  CHECK(next.system == kAllSystemFlags);
  CHECK(next.keywords == (1u << 26) - 1);
  CHECK(format_flags(next) == "DFRSTabcdefghijklmnopqrstuvwxyz");
}

TEST_CASE("flags: IMAP names of the system flags", "[store]") {
  CHECK(system_flag_name(kFlagSeen) == "\\Seen");
  CHECK(system_flag_name(kFlagDeleted) == "\\Deleted");
  CHECK(system_flag_from_name("\\seen") == kFlagSeen);
  CHECK(system_flag_from_name("\\ANSWERED") == kFlagAnswered);
  CHECK(system_flag_from_name("\\Draft") == kFlagDraft);
  CHECK(system_flag_from_name("\\Recent") == 0);
  CHECK(system_flag_from_name("Seen") == 0);
}
