// The index reader (common/store/index.h) fed a hostile file. Checksums
// would stop nearly every mutated input at the header, so the first byte
// chooses how the rest is used:
//   0: the whole file as it is;
//   1: byte 1 is a record count and the rest a snapshot, behind a header
//      with correct checksums;
//   2: the rest is the payload of one frame (with a correct checksum)
//      appended to a small valid index.
// Invariants, each abort()ing:
//   - an accepted file consumes at most its size, and its good part alone
//     parses to the same state;
//   - the state of an accepted file, written as a snapshot, reads back the
//     same.

#include <zlib.h>

#include <string>

#include "common/store/index.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace store = tern::store;

namespace {

void put(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t crc(std::string_view s) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

std::string sealed(uint32_t count, std::string_view snapshot) {
  std::string out("TERNIDX\0", 8);
  put(out, store::kIndexVersion, 4);
  put(out, store::kIndexHeaderSize, 4);
  put(out, 1700000000, 4);
  put(out, count, 4);
  put(out, uint64_t{1} << 40, 8);
  put(out, snapshot.size(), 8);
  put(out, crc(snapshot), 4);
  put(out, crc(out), 4);
  return out + std::string(snapshot);
}

std::string small_index() {
  store::IndexState s;
  s.uidvalidity = 1700000000;
  s.covered = 5;
  for (uint32_t uid : {1u, 2u, 7u}) {
    store::IndexEntry e;
    e.uid = uid;
    e.modseq = uid % 5;
    e.base = "1700000000.M" + std::to_string(uid) + "P1Q0.h,S=1,W=1";
    s.entries[uid] = e;
  }
  return store::format_index(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > tern::fuzz::kMaxInput) return 0;
  const std::string_view rest = tern::fuzz::as_text(data + 1, size - 1);
  std::string file;
  switch (data[0] % 3) {
    case 0:
      file = std::string(rest);
      break;
    case 1:
      file = rest.empty() ? sealed(0, "") : sealed(static_cast<unsigned char>(rest[0]), rest.substr(1));
      break;
    default: {
      std::string payload;
      put(payload, 5 + (rest.empty() ? 0 : static_cast<unsigned char>(rest[0]) % 4), 8);
      payload += rest.empty() ? std::string_view() : rest.substr(1);
      file = small_index();
      put(file, payload.size(), 4);
      put(file, crc(payload), 4);
      file += payload;
    }
  }

  store::IndexState state;
  auto used = store::parse_index(file, state);
  if (!used) return 0;
  if (*used > file.size()) fail("consumed past the end");
  store::IndexState prefix;
  auto again = store::parse_index(std::string_view(file).substr(0, *used), prefix);
  if (!again || *again != *used || !(prefix == state)) fail("the good part alone reads differently");
  const std::string snapshot = store::format_index(state);
  store::IndexState back;
  auto n = store::parse_index(snapshot, back);
  if (!n || *n != snapshot.size()) fail("format_index() output does not parse");
  if (!(back == state)) fail("format/parse changed the state");
  return 0;
}
