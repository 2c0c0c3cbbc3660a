#pragma once
// The arguments of "t SEARCH <text>" as common/imap's CommandReader makes
// them (literals accepted into memory), for tests of the SEARCH parser and
// evaluator.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/imap/command_reader.h"

namespace tern::test {

inline std::vector<imap::Value> search_args(const std::string& text) {
  imap::CommandReader reader;
  reader.feed("t SEARCH " + text + "\r\n");
  for (int i = 0; i < 100; ++i) {
    imap::Event ev = reader.next();
    if (ev.kind == imap::EventKind::kLiteral) {
      reader.accept_literal();
      continue;
    }
    REQUIRE(ev.kind == imap::EventKind::kCommand);
    return ev.command.args;
  }
  FAIL("no command");
  return {};
}

}  // namespace tern::test
