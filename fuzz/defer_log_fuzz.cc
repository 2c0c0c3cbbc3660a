// The defer log reader (common/queue/defer_log.h) fed a damaged or hostile
// file. Invariants, each abort()ing:
//   - parse_defer_log() never fails and keeps at most one record per
//     recipient index, sorted, each findable by its index;
//   - every record it keeps formats to a line that parses to the same
//     record, and a log of those lines reads back to the same records with
//     nothing damaged.

#include <string>

#include "common/queue/defer_log.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
namespace q = tern::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  for (bool cut : {false, true}) {
    q::DeferLog log = q::parse_defer_log(text, cut);
    std::string again;
    for (size_t i = 0; i < log.latest.size(); ++i) {
      const q::DeferRecord& r = log.latest[i];
      if (i > 0 && log.latest[i - 1].index >= r.index) fail("records not sorted by a unique index");
      if (log.find(r.index) != &r) fail("find() misses a record");
      std::string line = q::format_defer_record(r);
      auto back = q::parse_defer_record(line);
      if (!back || !(*back == r)) fail("record round trip changed the record");
      again += line;
    }
    q::DeferLog second = q::parse_defer_log(again);
    if (second.damaged != 0 || second.latest != log.latest) fail("log round trip changed the log");
  }
  return 0;
}
