// The MAIL FROM / RCPT TO argument parser (common/mail/smtp_path.h).
// Invariants, each abort()ing:
//   - a refusal always says why (ArgFault), and kLimit errors are exactly
//     the kPathTooLong ones;
//   - an accepted address re-parses from its canonical form str() to the
//     same local part, domain and flags, and the canonical form is stable;
//   - an address that needs SMTPUTF8 is valid UTF-8 and was only accepted
//     where UTF-8 was allowed;
//   - parsed ORCPT and NOTIFY values format to text that parses back;
//   - xtext_decode(xtext_encode(s)) == s for any bytes, and a decodable
//     input re-encodes to text that decodes to the same bytes;
//   - split_extension only ever cuts the local part in two at a delimiter.

#include <string>

#include "common/mail/smtp_path.h"
#include "common/mail/utf8.h"
#include "fuzz/fuzz_util.h"

using tern::fuzz::fail;
using namespace tern::mail;

namespace {

void check_fault(bool ok, ArgFault why, const tern::Error* err) {
  if (ok) {
    if (why != ArgFault::kNone) fail("success with a fault set");
    return;
  }
  if (why == ArgFault::kNone) fail("refusal without a fault");
  if ((err->code == tern::Errc::kLimit) != (why == ArgFault::kPathTooLong)) fail("kLimit and kPathTooLong disagree");
  if (err->text.empty()) fail("refusal without text");
}

void check_address(const Address& a, bool utf8_allowed, bool null_allowed, bool postmaster_allowed) {
  if (a.is_null && !null_allowed) fail("null path accepted where not allowed");
  if (a.is_postmaster && !postmaster_allowed) fail("bare postmaster accepted where not allowed");
  if (a.needs_smtputf8()) {
    if (!utf8_allowed) fail("UTF-8 address accepted without SMTPUTF8");
    if (!is_valid_utf8(a.local) || !is_valid_utf8(a.domain)) fail("accepted address is not valid UTF-8");
  }
  if (a.is_null) return;
  PathOptions po;
  po.allow_null = true;
  po.allow_postmaster = true;
  po.allow_utf8 = true;
  po.limits.path = 1000;  // the original may have carried a (longer) source route
  auto again = parse_path("<" + a.str() + ">", po);
  if (!again) fail("canonical form does not parse");
  if (again->local != a.local || again->domain != a.domain || again->domain_lower != a.domain_lower ||
      again->is_postmaster != a.is_postmaster || again->is_address_literal != a.is_address_literal ||
      again->had_source_route)
    fail("canonical form parses to a different address");
  if (again->str() != a.str()) fail("canonical form is not stable");
  const unsigned tricks = routing_tricks(a);
  if (has_routing_tricks(a) != (tricks != kNoRoutingTrick)) fail("routing trick helpers disagree");
  for (const char* delims : {"+", "+-", "-"}) {
    const Extension e = split_extension(a.local, delims);
    if (e.delimiter == 0 ? (e.user != a.local || !e.extension.empty())
                         : e.user + e.delimiter + e.extension != a.local)
      fail("split_extension lost part of the local part");
  }
}

void xtext_round_trip(std::string_view s) {
  auto back = xtext_decode(xtext_encode(s));
  if (!back || *back != s) fail("xtext_decode(xtext_encode(s)) != s");
  auto decoded = xtext_decode(s);
  if (!decoded) return;
  auto twice = xtext_decode(xtext_encode(*decoded));
  if (!twice || *twice != *decoded) fail("xtext re-encoding changed the bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > tern::fuzz::kMaxInput) return 0;
  const std::string_view text = tern::fuzz::as_text(data, size);

  ArgOptions opts;
  opts.offered.chunking = true;
  opts.offered.auth = true;

  ArgFault why = ArgFault::kNone;
  auto mail = parse_mail_args(text, opts, &why);
  check_fault(mail.ok(), why, mail.ok() ? nullptr : &mail.error());
  if (mail) {
    check_address(mail->sender, mail->params.smtputf8, true, false);
    if (mail->params.envid && xtext_decode(xtext_encode(*mail->params.envid)).value() != *mail->params.envid)
      fail("ENVID round trip");
  }

  for (bool smtputf8 : {false, true}) {
    auto rcpt = parse_rcpt_args(text, opts, smtputf8, &why);
    check_fault(rcpt.ok(), why, rcpt.ok() ? nullptr : &rcpt.error());
    if (!rcpt) continue;
    check_address(rcpt->recipient, smtputf8, false, true);
    std::string params;
    if (rcpt->params.notify) params += " NOTIFY=" + format_notify(rcpt->params.notify);
    if (rcpt->params.orcpt) params += " ORCPT=" + rcpt->params.orcpt->format();
    if (rcpt->recipient.str().empty()) continue;
    ArgOptions wide = opts;
    wide.limits.path = 1000;
    auto again = parse_rcpt_args("<" + rcpt->recipient.str() + ">" + params, wide, smtputf8, &why);
    if (!again) fail("formatted RCPT parameters do not parse");
    if (again->params.notify != rcpt->params.notify) fail("NOTIFY round trip");
    if (again->params.orcpt.has_value() != rcpt->params.orcpt.has_value() ||
        (again->params.orcpt && (again->params.orcpt->address != rcpt->params.orcpt->address ||
                                 again->params.orcpt->addr_type != rcpt->params.orcpt->addr_type)))
      fail("ORCPT round trip");
  }

  auto box = parse_mailbox(text, PathLimits{}, true, &why);
  check_fault(box.ok(), why, box.ok() ? nullptr : &box.error());
  if (box) check_address(*box, true, false, false);

  // Small limits exercise the kLimit paths.
  PathOptions tight;
  tight.limits = PathLimits{4, 8, 16};
  tight.allow_null = true;
  auto small = parse_path(text, tight, &why);
  check_fault(small.ok(), why, small.ok() ? nullptr : &small.error());

  xtext_round_trip(text);
  (void)is_valid_utf8(text);
  return 0;
}
