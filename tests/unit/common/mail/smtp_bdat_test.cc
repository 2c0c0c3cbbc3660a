#include "common/mail/smtp_bdat.h"

#include <catch2/catch.hpp>

using tern::mail::BdatArgs;
using tern::mail::ChunkAccount;
using tern::mail::ChunkDecoder;
using tern::mail::parse_bdat_args;

namespace {

struct Decoded {
  std::string content;
  bool bare_lf = false;
  bool bare_cr = false;
  bool refused = false;
};

// Cuts the content into chunks of `step` octets, as BDAT commands would.
Decoded decode(std::string_view in, ChunkDecoder::BareCr mode, size_t step) {
  ChunkDecoder d(mode);
  Decoded r;
  for (size_t at = 0; at < in.size(); at += step) d.feed(in.substr(at, step), &r.content);
  d.finish(&r.content);
  r.bare_lf = d.saw_bare_lf();
  r.bare_cr = d.saw_bare_cr();
  r.refused = d.refused();
  return r;
}

}  // namespace

TEST_CASE("smtp_bdat: parses a chunk size and LAST", "[mail]") {
  struct Case {
    std::string args;
    uint64_t size;
    bool last;
  };
  const Case cases[] = {
      {"0", 0, false},
      {"0 LAST", 0, true},
      {"1000", 1000, false},
      {"1000 last", 1000, true},
      {"1000 LaSt", 1000, true},
      {"007", 7, false},
      {"9999999999999999999", 9999999999999999999ULL, false},  // 19 digits: the most
  };
  for (auto& c : cases) {
    INFO(c.args);
    auto r = parse_bdat_args(c.args);
    REQUIRE(r);
    CHECK(r->size == c.size);
    CHECK(r->last == c.last);
  }
}

TEST_CASE("smtp_bdat: refuses every other argument", "[mail]") {
  const std::string cases[] = {
      "",                      // no size
      "LAST",                  // no size
      "-1",                    // a sign
      "+1",
      "1a",                    // garbage after the digits
      "12 LASTX",
      "12 LAST extra",
      "12  LAST",              // two spaces
      " 12",                   // a space first
      "12 ",                   // trailing space (the command parser strips it before us)
      "12\tLAST",
      "0x10",
      "1.5",
      "10000000000000000000",  // 20 digits: too long
      "00000000000000000000001",
  };
  for (auto& c : cases) {
    INFO(c);
    auto r = parse_bdat_args(c);
    CHECK_FALSE(r);
    if (!r) CHECK_FALSE(r.error().text.empty());
  }
}

TEST_CASE("smtp_bdat: content passes byte for byte, and CRLF split between chunks stays one CRLF", "[mail]") {
  std::string eight_bit;
  for (int c = 0; c < 256; ++c)
    if (c != '\r' && c != '\n') eight_bit.push_back(static_cast<char>(c));
  const std::string cases[] = {
      "",
      "a\r\n",
      "Subject: x\r\n\r\nbody\r\n.\r\n..\r\n",  // dots mean nothing here
      "\r\n\r\n\r\n",
      eight_bit + "\r\n" + eight_bit + "\r\n",
  };
  for (auto& c : cases) {
    for (size_t step : {1, 2, 3, 7, 1000}) {
      INFO(c.size() << " octets in chunks of " << step);
      auto r = decode(c, ChunkDecoder::BareCr::kRefuse, step);
      CHECK(r.content == c);
      CHECK_FALSE(r.bare_lf);
      CHECK_FALSE(r.bare_cr);
      CHECK_FALSE(r.refused);
    }
  }
}

TEST_CASE("smtp_bdat: an unfinished last line gets its CRLF", "[mail]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"no newline at the end", "no newline at the end\r\n"},
      {"a\r\nb", "a\r\nb\r\n"},
      {"a\r", "a\r\r\n"},  // a bare CR last (kept in kKeep mode)
  };
  for (auto& c : cases) {
    for (size_t step : {1, 2, 100}) {
      INFO(c.in << " step " << step);
      CHECK(decode(c.in, ChunkDecoder::BareCr::kKeep, step).content == c.out);
    }
  }
}

TEST_CASE("smtp_bdat: a bare LF becomes CRLF in either mode", "[mail]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"a\nb\n", "a\r\nb\r\n"},
      {"a\nb", "a\r\nb\r\n"},
      {"\n", "\r\n"},
      {"a\n.\r\nMAIL FROM:<x>\r\n", "a\r\n.\r\nMAIL FROM:<x>\r\n"},
      {"a\r\n\nb", "a\r\n\r\nb\r\n"},
  };
  for (auto& c : cases) {
    for (auto mode : {ChunkDecoder::BareCr::kRefuse, ChunkDecoder::BareCr::kKeep}) {
      for (size_t step : {1, 2, 5, 100}) {
        INFO(c.in << " step " << step);
        auto r = decode(c.in, mode, step);
        CHECK(r.content == c.out);
        CHECK(r.bare_lf);
        CHECK_FALSE(r.bare_cr);
        CHECK_FALSE(r.refused);
      }
    }
  }
}

TEST_CASE("smtp_bdat: a bare CR is kept in kKeep mode and refuses the message in kRefuse mode", "[mail]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"a\rb\r\n", "a\rb\r\n"},
      {"a\r", "a\r\r\n"},       // a CR at the very end of the message
      {"\r\r\n", "\r\r\n"},     // a bare CR, then a CRLF
      {"a\r.\r\n", "a\r.\r\n"},
      {"\r\r", "\r\r\r\n"},
  };
  for (auto& c : cases) {
    for (size_t step : {1, 2, 3, 100}) {
      INFO(c.in.size() << " octets, step " << step);
      auto keep = decode(c.in, ChunkDecoder::BareCr::kKeep, step);
      CHECK(keep.content == c.out);
      CHECK(keep.bare_cr);
      CHECK_FALSE(keep.refused);
      auto refuse = decode(c.in, ChunkDecoder::BareCr::kRefuse, step);
      CHECK(refuse.bare_cr);
      CHECK(refuse.refused);
    }
  }
}

TEST_CASE("smtp_bdat: the running total of the chunks stays within message_size_limit", "[mail]") {
  ChunkAccount a(100);
  CHECK(a.admit(0));
  CHECK(a.admit(60));
  CHECK(a.admit(40));  // exactly the limit
  CHECK(a.total() == 100);
  CHECK_FALSE(a.admit(1));
  CHECK(a.total() == 100);  // a refused chunk is not counted
  CHECK(a.chunks() == 3);

  ChunkAccount b(100);
  CHECK_FALSE(b.admit(101));
  CHECK_FALSE(b.admit(UINT64_MAX));
  CHECK(b.admit(100));

  ChunkAccount unlimited(0);
  CHECK(unlimited.admit(9999999999999999999ULL));
  CHECK(unlimited.admit(9999999999999999999ULL));  // saturates, never wraps
  CHECK(unlimited.total() == UINT64_MAX);
}
