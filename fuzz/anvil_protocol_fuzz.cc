// The anvil protocol's messages (common/ipc/anvil_protocol.h). Invariants,
// each abort()ing:
//   - a request that parsed formats to a line that parses back to the same
//     request, and formatting that again gives the same line;
//   - the same for a reply;
//   - a parsed request's names are non-empty and within kAnvilMaxName.

#include <string>

#include "common/ipc/anvil_protocol.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;

namespace {

void request_round_trip(std::string_view text) {
  auto r = tern::ipc::AnvilRequest::parse(text);
  if (!r) return;
  if (r->service.empty() || r->client.empty()) fail("a request parsed with an empty name");
  if (r->service.size() > tern::ipc::kAnvilMaxName || r->client.size() > tern::ipc::kAnvilMaxName)
    fail("a request parsed with a name beyond kAnvilMaxName");
  const std::string formatted = r->format();
  auto again = tern::ipc::AnvilRequest::parse(formatted);
  if (!again) fail("AnvilRequest::format() output does not parse");
  if (again->command != r->command || again->service != r->service || again->client != r->client)
    fail("request round trip changed the request");
  if (again->format() != formatted) fail("AnvilRequest::format() is not stable");
}

void reply_round_trip(std::string_view text) {
  auto r = tern::ipc::AnvilReply::parse(text);
  if (!r) return;
  const std::string formatted = r->format();
  auto again = tern::ipc::AnvilReply::parse(formatted);
  if (!again) fail("AnvilReply::format() output does not parse");
  if (again->ok != r->ok || again->count != r->count || again->rate != r->rate ||
      again->message_rate != r->message_rate || again->rcpt_rate != r->rcpt_rate)
    fail("reply round trip changed the reply");
  if (!r->ok && again->reason != r->reason) fail("reply round trip changed the reason");
  if (again->format() != formatted) fail("AnvilReply::format() is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);
  request_round_trip(text);
  reply_round_trip(text);
  return 0;
}
