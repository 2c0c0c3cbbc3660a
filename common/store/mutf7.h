#pragma once
// Modified UTF-7 (RFC 3501 section 5.1.3): how IMAP folder names are written
// on disk in a Maildir++ store, as Dovecot writes them, while the protocol
// edge (IMAP with UTF8=ACCEPT, RFC 6855) and the rest of Tern speak UTF-8.
//
//   - printable US-ASCII (0x20..0x7e) other than "&" stands for itself;
//   - "&" is written "&-";
//   - anything else is UTF-16 (surrogate pairs above U+FFFF) in modified
//     BASE64 (RFC 2045 alphabet with "," for "/", no "=" padding) between
//     "&" and "-".
//
// The decoder is strict: it accepts exactly what the encoder produces, so
// every folder has one spelling on disk. Refused: bytes outside 0x20..0x7e,
// a shift that is never closed, an empty shift other than "&-", a shifted
// run that encodes printable ASCII or is split in two ("&AOk-&AOk-" instead
// of "&AOkA6Q-"), leftover bits that are not zero or amount to a partial
// UTF-16 unit, unpaired surrogates, and U+0000.

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::store {

// Names longer than this are refused: a folder name is one directory name
// on disk (NAME_MAX 255) or a few of them. The decoder takes up to three
// times as much, since one byte of UTF-8 (U+007F) can take 8/3 characters
// encoded: whatever the encoder writes, the decoder reads.
inline constexpr size_t kMaxMutf7Input = 4096;
inline constexpr size_t kMaxMutf7Encoded = 3 * kMaxMutf7Input + 2;

// UTF-8 → modified UTF-7. Errc::kInvalid for malformed UTF-8 or U+0000.
Result<std::string> mutf7_encode(std::string_view utf8);
// Modified UTF-7 → UTF-8, strictly (see above). Errc::kInvalid otherwise.
Result<std::string> mutf7_decode(std::string_view mutf7);

}  // namespace tern::store
