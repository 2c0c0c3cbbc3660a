// Modified UTF-7 (common/store/mutf7.h) and folder names
// (common/store/maildir.h) fed hostile bytes. Invariants, each abort()ing:
//   - whatever the strict decoder accepts, the encoder writes back byte for
//     byte (one spelling per folder on disk);
//   - valid UTF-8 without NUL encodes, and decodes back to itself;
//   - a directory name accepted as a folder maps back to the same name.

#include <string>

#include "common/mail/utf8.h"
#include "common/store/maildir.h"
#include "common/store/mutf7.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace store = tern::store;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  if (auto dec = store::mutf7_decode(text)) {
    auto enc = store::mutf7_encode(*dec);
    if (!enc) fail("decoded name does not encode");
    if (*enc != text) fail("decode/encode changed the spelling");
  }

  if (tern::mail::is_valid_utf8(text) && text.find('\0') == std::string_view::npos &&
      text.size() <= store::kMaxMutf7Input) {
    auto enc = store::mutf7_encode(text);
    if (!enc) fail("valid UTF-8 does not encode");
    auto back = store::mutf7_decode(*enc);
    if (!back) fail("encoder output does not decode");
    if (*back != text) fail("encode/decode changed the name");
  }

  if (auto name = store::folder_name_from_dir(text)) {
    if (!store::check_folder_name(*name)) fail("accepted directory gives a refused name");
    auto dir = store::folder_dir_name(*name);
    if (!dir || *dir != text) fail("folder name does not map back to its directory");
  }
  return 0;
}
