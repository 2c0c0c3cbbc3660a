// The submission stream parser terndrop runs on its caller's input
// (common/queue/maildrop.h, SubmissionReader), and the maildrop check pickup
// runs on what terndrop writes. The input is a whole stream. Invariants,
// each abort()ing:
//   - the result does not depend on how the input is cut into reads (one
//     byte at a time, or all at once);
//   - a stream that reads whole formats back (format_submission, chunks,
//     end) to a stream that reads to the same envelope and message;
//   - the maildrop file terndrop would write from it reads back as a queue
//     file and passes check_maildrop() for its owner, and fails it for
//     another uid.

#include <algorithm>
#include <cstring>
#include <string>

#include "common/queue/maildrop.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::queue;

namespace {

struct Outcome {
  bool ok = false;
  Submission env;
  std::string message;
};

Outcome read(std::string_view data, size_t step) {
  size_t pos = 0;
  SubmissionReader reader([&](char* buf, size_t n) -> tern::Result<size_t> {
    n = std::min({n, step, data.size() - pos});
    if (n) std::memcpy(buf, data.data() + pos, n);
    pos += n;
    return n;
  });
  Outcome out;
  auto env = reader.envelope();
  if (!env) return out;
  std::string chunk;
  for (;;) {
    auto more = reader.next_chunk(&chunk);
    if (!more) return out;
    if (!*more) break;
    if (chunk.empty() || chunk.size() > kMaxChunk) fail("a chunk outside 1..kMaxChunk");
    out.message += chunk;
  }
  if (reader.total() != out.message.size()) fail("total differs from the bytes read");
  out.env = std::move(*env);
  out.ok = true;
  return out;
}

bool same(const Submission& a, const Submission& b) {
  if (a.sender != b.sender || a.ret != b.ret || a.envid != b.envid || a.recipients.size() != b.recipients.size())
    return false;
  for (size_t i = 0; i < a.recipients.size(); ++i) {
    const auto &x = a.recipients[i], &y = b.recipients[i];
    if (x.address != y.address || x.orcpt != y.orcpt || x.notify != y.notify) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  Outcome whole = read(text, text.size() + 1);
  Outcome bytewise = read(text, 1);
  if (whole.ok != bytewise.ok) fail("the result depends on how the input is read");
  if (!whole.ok) return 0;
  if (!same(whole.env, bytewise.env) || whole.message != bytewise.message) fail("reads in pieces differ");

  auto head = format_submission(whole.env);
  if (!head) fail("a stream that read cannot be formatted again");
  std::string again = *head;
  for (size_t off = 0; off < whole.message.size(); off += kMaxChunk)
    again += format_chunk(std::string_view(whole.message).substr(off, kMaxChunk));
  again += format_submission_end(whole.message.size());
  Outcome round = read(again, 4096);
  if (!round.ok || !same(round.env, whole.env) || round.message != whole.message) fail("round trip differs");

  Envelope md = maildrop_envelope(whole.env, tern::WallTime(std::chrono::seconds(1700000000)), 1000, "user");
  auto envelope_text = format_envelope(md);
  if (!envelope_text) return 0;  // the queue file refuses some values the stream allows (over-long lines)
  std::string file = *envelope_text + whole.message + format_submission_end(whole.message.size());
  auto parsed = parse_qfile(file);
  if (!parsed) fail("the maildrop file terndrop would write does not read back");
  if (!check_maildrop(*parsed, 1000)) fail("terndrop's own record set fails the maildrop check");
  if (check_maildrop(*parsed, 1001)) fail("the maildrop check passes for another owner");
  return 0;
}
