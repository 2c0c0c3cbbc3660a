#pragma once
// Sequence sets (RFC 3501 9 "sequence-set", 6.4.8 for UIDs):
//
//   sequence-set = (seq-number / seq-range) *("," sequence-set)
//   seq-range    = seq-number ":" seq-number
//   seq-number   = nz-number / "*"
//
// "*" is the largest number in use (the last message's sequence number or
// UID); a range may be written either way round ("5:3" is "3:5"), so
// "559:*" with a largest UID of 500 is 500:559 and contains 500, as 6.4.8
// requires ("always includes the UID of the last message"). An empty
// mailbox has no "*": resolving with largest = 0 drops the ranges that
// need it; RFC 3501 makes such a sequence number set a BAD, a UID set
// just matches nothing, so the session decides (uses_star()).
//
// The set keeps the ranges as written (in order, unmerged) so the session
// can answer the way the client asked; resolve() gives sorted, merged
// ranges for a given largest number. Parsing bounds the count of ranges.
// ("$", SEARCHRES RFC 5182, is not parsed yet.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::imap {

inline constexpr size_t kDefaultMaxRanges = 16384;

class SequenceSet {
 public:
  // As written; 0 stands for "*" (0 is never a valid nz-number).
  struct Range {
    uint32_t first = 0;
    uint32_t last = 0;
    bool operator==(const Range&) const = default;
  };
  static constexpr uint32_t kStar = 0;

  SequenceSet() = default;
  explicit SequenceSet(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}

  const std::vector<Range>& ranges() const { return ranges_; }
  bool empty() const { return ranges_.empty(); }
  bool uses_star() const;
  // The largest explicit number written (0 when only "*").
  uint32_t max_explicit() const;

  // Sorted, disjoint, merged [first, last] ranges: a "*" bound becomes
  // `largest`, then each range is put in order. With largest = 0 (an empty
  // mailbox) a range with a "*" is dropped.
  std::vector<Range> resolve(uint32_t largest) const;
  // Whether n is in the set, "*" being `largest`.
  bool contains(uint32_t n, uint32_t largest) const;

  // "1:3,5,*" (canonical spelling of the ranges as written).
  std::string to_string() const;
  bool operator==(const SequenceSet&) const = default;

 private:
  std::vector<Range> ranges_;
};

// Errc::kInvalid for bad syntax (zero, empty piece, a number over
// 4294967295, stray characters); Errc::kLimit for more than max_ranges.
Result<SequenceSet> parse_sequence_set(std::string_view text, size_t max_ranges = kDefaultMaxRanges);

// Canonical form of sorted, merged ranges (as resolve() returns them):
// "1:3,5" — for COPYUID / APPENDUID (RFC 4315 "uid-set").
std::string format_ranges(const std::vector<SequenceSet::Range>& ranges);

}  // namespace tern::imap
