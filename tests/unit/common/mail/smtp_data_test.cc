#include "common/mail/smtp_data.h"

#include <catch2/catch.hpp>

using tern::mail::DataDecoder;

namespace {

struct Decoded {
  std::string content;
  size_t consumed = 0;
  bool done = false;
  bool refused = false;
};

// Feeds the input in chunks of `step` bytes, as the network would.
Decoded decode(std::string_view in, DataDecoder::BareNewlines mode, size_t step) {
  DataDecoder d(mode);
  Decoded r;
  while (r.consumed < in.size() && !d.done()) {
    size_t n = std::min(step, in.size() - r.consumed);
    size_t used = d.feed(in.substr(r.consumed, n), &r.content);
    r.consumed += used;
    if (used < n) break;
  }
  r.done = d.done();
  r.refused = d.refused();
  return r;
}

}  // namespace

TEST_CASE("smtp_data: unstuffs dots and stops exactly at CRLF.CRLF, in any chunking", "[mail]") {
  struct Case {
    std::string in, content;
    size_t consumed;
  };
  const Case cases[] = {
      {".\r\n", "", 3},
      {"a\r\n.\r\n", "a\r\n", 6},
      {"..a\r\n.\r\nQUIT\r\n", ".a\r\n", 8},
      {"a\r\n..\r\n.\r\n", "a\r\n.\r\n", 10},
      {"x.\r\n.y\r\n.\r\nMAIL", "x.\r\ny\r\n", 11},
      {"\r\n\r\n.\r\n", "\r\n\r\n", 7},
  };
  for (auto& c : cases) {
    for (size_t step : {1, 2, 3, 100}) {
      INFO(c.in << " step " << step);
      auto r = decode(c.in, DataDecoder::BareNewlines::kReject, step);
      CHECK(r.done);
      CHECK_FALSE(r.refused);
      CHECK(r.content == c.content);
      CHECK(r.consumed == c.consumed);
    }
  }
}

TEST_CASE("smtp_data: a bare LF or CR never ends the data and refuses the message (smuggling)", "[mail]") {
  // In each case the only real end is the final CRLF.CRLF.
  const std::string cases[] = {
      "a\n.\r\nMAIL FROM:<x>\r\n.\r\n",  // \n.\r\n is not the end
      "a\r.\r\nRCPT TO:<y>\r\n.\r\n",    // \r.\r\n is not the end
      "a\r\n.\n.\r\n.\r\n",             // .\n is not the end, nor the dot line after it
      "a\r\n.\r.\r\n\r\n.\r\n",
      "bare\nlf\r\n.\r\n",
  };
  for (auto& in : cases) {
    for (size_t step : {1, 7, 100}) {
      INFO(in << " step " << step);
      auto r = decode(in, DataDecoder::BareNewlines::kReject, step);
      CHECK(r.done);
      CHECK(r.refused);
      CHECK(r.consumed == in.size());
    }
  }
}

TEST_CASE("smtp_data: normalise mode stores a bare LF as CRLF and accepts the message", "[mail]") {
  auto r = decode("line one\nline two\r\n.\r\n", DataDecoder::BareNewlines::kNormalize, 4);
  CHECK(r.done);
  CHECK_FALSE(r.refused);
  CHECK(r.content == "line one\r\nline two\r\n");
  // Even here, a dot after a bare LF is content, not the end.
  r = decode("a\n.\r\nb\r\n.\r\n", DataDecoder::BareNewlines::kNormalize, 1);
  CHECK(r.done);
  CHECK(r.content == "a\r\n\r\nb\r\n");
}

TEST_CASE("smtp_data: without the terminator the data is not done and everything is consumed", "[mail]") {
  auto r = decode("a\r\n.x\r\n", DataDecoder::BareNewlines::kReject, 3);
  CHECK_FALSE(r.done);
  CHECK(r.consumed == 7);
  CHECK(r.content == "a\r\nx\r\n");
}
