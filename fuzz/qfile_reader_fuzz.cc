// The queue file parser (common/queue/qfile_reader.h, parse_qfile). The
// input is a whole file image. Invariants, each abort()ing:
//   - a file that parses has its message and trailer exactly where the
//     envelope says, and every status offset points into a RCPT record;
//   - rewriting one recipient's status field in place (what qmgr does with
//     pwrite) gives a file that parses to the same envelope with only that
//     status changed;
//   - an envelope that parsed and that the writer accepts formats to a file
//     that parses back to the same envelope.
// Small limits on a second pass exercise the kLimit-as-corrupt paths.

#include <string>

#include "common/queue/qfile_reader.h"
#include "common/queue/qfile_writer.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::queue;

namespace {

bool same_recipient(const Recipient& a, const Recipient& b) {
  return a.address == b.address && a.orcpt == b.orcpt && a.notify == b.notify && a.original == b.original &&
         a.status == b.status;
}

bool same_envelope(const Envelope& a, const Envelope& b) {
  if (a.arrival != b.arrival || a.sender != b.sender || a.body != b.body || a.smtputf8 != b.smtputf8 ||
      a.ret != b.ret || a.envid != b.envid || a.attributes != b.attributes ||
      a.recipients.size() != b.recipients.size())
    return false;
  for (size_t i = 0; i < a.recipients.size(); ++i)
    if (!same_recipient(a.recipients[i], b.recipients[i])) return false;
  return true;
}

void check_layout(std::string_view image, const Envelope& env) {
  if (env.message_offset > image.size() || env.message_size > image.size() - env.message_offset)
    fail("message outside the file");
  const std::string trailer = "END " + std::to_string(env.message_size) + "\n";
  if (image.substr(env.message_offset + env.message_size) != trailer) fail("trailer not where the envelope says");
  if (image.substr(env.eoe_offset, 4) != "EOE\n" || env.eoe_offset + 4 != env.message_offset)
    fail("EOE not where the envelope says");
  for (const auto& r : env.recipients) {
    if (r.status_offset < 5 || r.status_offset + kStatusWidth > env.eoe_offset) fail("status offset out of range");
    if (image.substr(r.status_offset - 5, 5) != "RCPT ") fail("status offset not in a RCPT record");
  }
}

void check_status_rewrite(std::string_view image, const Envelope& env) {
  if (env.recipients.empty()) fail("parsed without recipients");
  const size_t index = env.recipients.size() / 2;
  std::string copy(image);
  std::string field(status_name(RcptStatus::kBounced));
  field.resize(kStatusWidth, ' ');
  copy.replace(env.recipients[index].status_offset, kStatusWidth, field);
  auto again = parse_qfile(copy);
  if (!again) fail("a status rewrite made the file unreadable");
  Envelope expected = env;
  expected.recipients[index].status = RcptStatus::kBounced;
  if (!same_envelope(*again, expected)) fail("a status rewrite changed more than one status");
}

void check_round_trip(std::string_view image, const Envelope& env) {
  auto text = format_envelope(env);
  if (!text) return;  // the reader is more liberal (attribute names, raw tabs)
  std::string file = *text;
  file += image.substr(env.message_offset, env.message_size);
  file += "END " + std::to_string(env.message_size) + "\n";
  auto again = parse_qfile(file);
  if (!again) fail("format_envelope() output does not parse");
  if (!same_envelope(*again, env)) fail("envelope round trip changed the envelope");
  auto twice = format_envelope(*again);
  if (!twice || *twice != *text) fail("format_envelope() is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view image = tern::fuzz::as_text(data, size);
  auto env = parse_qfile(image);
  if (env) {
    check_layout(image, *env);
    check_status_rewrite(image, *env);
    check_round_trip(image, *env);
  } else if (env.error().code != tern::Errc::kCorrupt) {
    fail("a memory image failed with something other than kCorrupt");
  }
  (void)parse_qfile(image, {.max_recipients = 2, .max_attributes = 2});
  return 0;
}
