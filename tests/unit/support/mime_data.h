#pragma once
// The test messages of tests/data/mime (also the mime fuzz target's seeds'
// originals): a multipart with alternatives, an RFC 2231 attachment and a
// message/rfc822 (mixed.eml, and mixed_lf.eml with bare LF), a missing
// close delimiter, a digest, 500 levels of nesting.

#include <catch2/catch.hpp>
#include <string>

#include "common/base/fd.h"

namespace tern::test {

inline std::string mime_data(const std::string& name) {
  auto text = read_file(std::string(TERN_SOURCE_DIR) + "/tests/data/mime/" + name);
  REQUIRE(text.ok());
  return std::move(*text);
}

}  // namespace tern::test
