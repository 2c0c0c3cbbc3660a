#pragma once
// The test messages of tests/data/mime (also the mime fuzz target's seeds'
// originals): a multipart with alternatives, an RFC 2231 attachment and a
// message/rfc822 (mixed.eml, and mixed_lf.eml with bare LF), a missing
// close delimiter, a digest, 500 levels of nesting.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "common/base/fd.h"

namespace tern::test {

inline std::string mime_data(const std::string& name) {
  auto text = read_file(std::string(TERN_SOURCE_DIR) + "/tests/data/mime/" + name);
  REQUIRE(text.ok());
  return std::move(*text);
}

// s with every LF made CRLF (for test texts written with \n).
inline std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace tern::test
