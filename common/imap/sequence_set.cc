#include "common/imap/sequence_set.h"

#include <algorithm>

namespace tern::imap {

namespace {

// seq-number: nz-number (1..4294967295, no leading zero: RFC 3501 9
// nz-number = digit-nz *DIGIT) or "*" (returned as 0).
bool parse_seq_number(std::string_view s, uint32_t* out) {
  if (s == "*") {
    *out = SequenceSet::kStar;
    return true;
  }
  if (s.empty() || s.size() > 10 || s[0] < '1' || s[0] > '9') return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > 0xffffffffu) return false;
  *out = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

bool SequenceSet::uses_star() const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [](const Range& r) { return r.first == kStar || r.last == kStar; });
}

uint32_t SequenceSet::max_explicit() const {
  uint32_t m = 0;
  for (const Range& r : ranges_) m = std::max({m, r.first, r.last});
  return m;
}

std::vector<SequenceSet::Range> SequenceSet::resolve(uint32_t largest) const {
  std::vector<Range> out;
  out.reserve(ranges_.size());
  for (Range r : ranges_) {
    if (largest == 0 && (r.first == kStar || r.last == kStar)) continue;
    if (r.first == kStar) r.first = largest;
    if (r.last == kStar) r.last = largest;
    if (r.first > r.last) std::swap(r.first, r.last);
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> merged;
  for (const Range& r : out) {
    // Adjacent ranges merge too (1:3,4:6 is 1:6); last + 1 cannot overflow
    // past what a uint64_t holds.
    if (!merged.empty() && static_cast<uint64_t>(merged.back().last) + 1 >= r.first) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

bool SequenceSet::contains(uint32_t n, uint32_t largest) const {
  for (Range r : ranges_) {
    if (largest == 0 && (r.first == kStar || r.last == kStar)) continue;
    if (r.first == kStar) r.first = largest;
    if (r.last == kStar) r.last = largest;
    if (r.first > r.last) std::swap(r.first, r.last);
    if (n >= r.first && n <= r.last) return true;
  }
  return false;
}

static void append_number(std::string* out, uint32_t n) {
  if (n == SequenceSet::kStar) {
    out->push_back('*');
  } else {
    out->append(std::to_string(n));
  }
}

std::string SequenceSet::to_string() const {
  std::string out;
  for (const Range& r : ranges_) {
    if (!out.empty()) out.push_back(',');
    append_number(&out, r.first);
    if (r.last != r.first) {
      out.push_back(':');
      append_number(&out, r.last);
    }
  }
  return out;
}

std::string format_ranges(const std::vector<SequenceSet::Range>& ranges) {
  return SequenceSet(ranges).to_string();
}

Result<SequenceSet> parse_sequence_set(std::string_view text, size_t max_ranges) {
  if (text.empty()) return invalid("empty sequence set");
  std::vector<SequenceSet::Range> ranges;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string_view piece = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (ranges.size() == max_ranges) return make_error(Errc::kLimit, "too many ranges in sequence set");
    SequenceSet::Range r;
    size_t colon = piece.find(':');
    if (colon == std::string_view::npos) {
      if (!parse_seq_number(piece, &r.first)) return invalid("invalid sequence set");
      r.last = r.first;
    } else if (!parse_seq_number(piece.substr(0, colon), &r.first) ||
               !parse_seq_number(piece.substr(colon + 1), &r.last)) {
      return invalid("invalid sequence set");
    }
    ranges.push_back(r);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return SequenceSet(std::move(ranges));
}

}  // namespace tern::imap
