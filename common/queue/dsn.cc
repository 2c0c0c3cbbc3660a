// Delivery status notifications (dsn.h).

#include "common/queue/dsn.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstring>

#include "common/base/strings.h"
#include "common/mail/header.h"
#include "common/mail/utf8.h"
#include "common/queue/defer_log.h"
#include "common/queue/qfile_reader.h"

namespace tern::queue {
namespace {

constexpr size_t kMaxLine = 998;  // RFC 5322 2.1.1, without the CRLF
constexpr size_t kTextWidth = 78;

// Text from the outside world (a remote reply, an address) made safe for a
// 7bit header or body line: control characters become spaces, runs of
// white space one space; bytes outside printable ASCII become "?" unless
// utf8 is allowed and they form valid UTF-8. At most `limit` bytes.
std::string printable(std::string_view s, bool utf8, size_t limit = kMaxDiagnostic) {
  std::string out;
  size_t i = 0;
  while (i < s.size() && out.size() < limit) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      ++i;
    } else if (c < 0x80) {
      if (c == ' ' && !out.empty() && out.back() == ' ') {
        ++i;
        continue;
      }
      out += static_cast<char>(c);
      ++i;
    } else {
      auto cp = mail::decode_utf8(s.substr(i));
      if (utf8 && cp.length > 0) {
        if (out.size() + cp.length > limit) break;
        out.append(s.substr(i, cp.length));
        i += cp.length;
      } else {
        out += '?';
        i += cp.length > 0 ? cp.length : 1;
      }
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  while (!out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

// Word-wraps text at kTextWidth columns, CRLF after each line; with
// `hanging`, continuation lines are indented by four spaces (the shape of
// the per-recipient paragraphs of Postfix's reports).
std::string wrap(std::string_view text, bool hanging = false) {
  std::string out;
  std::string line;
  bool first = true;
  auto emit = [&] {
    out += std::string(hanging && !first ? 4 : 0, ' ') + line + "\r\n";
    line.clear();
    first = false;
  };
  for (auto word : split_any(text, " ")) {
    size_t indent = hanging && !first ? 4 : 0;
    if (!line.empty() && indent + line.size() + 1 + word.size() > kTextWidth) emit();
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) emit();
  return out;
}

// RFC 3461 4 xtext, for an ENVID or ORCPT value that is not printable
// ASCII (its stored form is decoded).
std::string xtext(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 33 || c > 126 || c == '+' || c == '=') out += strf("+%02X", c);
    else out += static_cast<char>(c);
  }
  return out;
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 32 && c < 127;
  });
}

// "smtp" for a text that starts with an SMTP reply code (RFC 5321 4.2),
// "x-tern" for anything else.
std::string_view diagnostic_type(std::string_view d) {
  if (d.size() >= 3 && d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9' &&
      (d.size() == 3 || d[3] == ' ' || d[3] == '-'))
    return "smtp";
  return "x-tern";
}

// A delivery-status field, folded at 78 columns (RFC 3464 2.1: header
// syntax, so folding is allowed), CRLF-terminated.
std::string field(std::string_view name, std::string_view value) {
  return mail::fold_field(std::string(name) + ": " + std::string(value)) + "\r\n";
}

std::string date(WallTime t) { return mail::rfc5322_date(t); }

// The host name in a relay ("mx.example.org[192.0.2.7]:25" or
// "mx.example.org"); "" for "none", a socket path, or anything else that is
// no DNS name (RFC 3464 2.3.5: Remote-MTA is "dns; <name>").
std::string remote_host(std::string_view relay) {
  std::string_view host = relay.substr(0, relay.find('['));
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  if (host == "none" || !is_dns_name(host)) return {};
  return std::string(host);
}

std::string_view subject(DsnKind kind, bool double_bounce) {
  if (double_bounce) return "Postmaster Copy: Undelivered Mail";
  switch (kind) {
    case DsnKind::kFailure: return "Undelivered Mail Returned to Sender";
    case DsnKind::kDelay: return "Delayed Mail (still being retried)";
    case DsnKind::kSuccess: return "Successful Mail Delivery Report";
  }
  return "Mail Delivery Report";
}

// What part 3 returns.
struct Returned {
  std::string text;       // CRLF lines
  bool whole = false;     // the message, else its header section only
  bool eight_bit = false;
};

Result<std::string> read_prefix(const MessageSource& src, uint64_t n) {
  std::string out(static_cast<size_t>(n), '\0');
  size_t got = 0;
  while (got < out.size()) {
    auto r = src.read(got, out.data() + got, out.size() - got);
    if (!r) return r.take_error();
    if (*r == 0) break;
    got += *r;
  }
  out.resize(got);
  return out;
}

bool has_eight_bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// True when every line ends in CRLF (the last may lack it), fits in kMaxLine
// and holds no NUL, bare CR or bare LF: safe inside a 7bit/8bit part.
bool clean_lines(std::string_view s) {
  size_t start = 0;
  while (start < s.size()) {
    size_t lf = s.find('\n', start);
    size_t end = lf == std::string_view::npos ? s.size() : lf;
    size_t content_end = end;
    if (lf != std::string_view::npos) {
      if (end == start || s[end - 1] != '\r') return false;  // bare LF
      content_end = end - 1;
    }
    if (content_end - start > kMaxLine) return false;
    for (size_t i = start; i < content_end; ++i)
      if (s[i] == '\0' || s[i] == '\r') return false;
    start = lf == std::string_view::npos ? s.size() : lf + 1;
  }
  return true;
}

// The header section of a message prefix: its fields, each kept whole or
// left out whole when a line of it is not clean (too long, NUL, bare CR).
std::string header_section(std::string_view msg) {
  size_t end = msg.find("\r\n\r\n");
  std::string_view head;
  if (msg.substr(0, 2) == "\r\n") head = {};
  else if (end != std::string_view::npos) head = msg.substr(0, end + 2);
  else {
    size_t last = msg.rfind("\r\n");
    head = last == std::string_view::npos ? std::string_view() : msg.substr(0, last + 2);
  }
  std::string out;
  std::string current;
  bool current_ok = true;
  auto flush = [&] {
    if (current_ok) out += current;
    current.clear();
    current_ok = true;
  };
  size_t start = 0;
  while (start < head.size()) {
    size_t lf = head.find('\n', start);
    if (lf == std::string_view::npos) lf = head.size() - 1;
    std::string_view line = head.substr(start, lf + 1 - start);
    start = lf + 1;
    bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation) flush();
    if (!clean_lines(line) || line.size() < 2 || line.substr(line.size() - 2) != "\r\n") current_ok = false;
    current += line;
  }
  flush();
  return out;
}

Result<Returned> returned_part(const DsnRequest& req, const DsnSettings& settings) {
  const Envelope& env = *req.original.envelope;
  uint64_t size = req.original.size;
  bool want_whole = req.kind != DsnKind::kSuccess && env.ret != DsnRet::kHdrs &&
                    size <= std::min<uint64_t>(settings.bounce_size_limit, 64u << 20);
  Returned out;
  if (want_whole) {
    auto all = read_prefix(req.original, size);
    if (!all) return all.take_error();
    if (clean_lines(*all)) {
      out.text = std::move(*all);
      if (!out.text.empty() && out.text.substr(out.text.size() - std::min<size_t>(2, out.text.size())) != "\r\n")
        out.text += "\r\n";
      out.whole = true;
      out.eight_bit = has_eight_bit(out.text);
      return out;
    }
    // Lines a 7bit/8bit part cannot carry (longer than 998, bare CR or LF,
    // NUL: BINARYMIME): return the header section only.
    out.text = header_section(*all);
  } else {
    auto prefix = read_prefix(req.original, std::min<uint64_t>(size, kMaxReturnedHeader));
    if (!prefix) return prefix.take_error();
    out.text = header_section(*prefix);
  }
  out.eight_bit = has_eight_bit(out.text);
  return out;
}

std::string human_text(const DsnRequest& req, const DsnSettings& settings, bool double_bounce, bool whole,
                       bool utf8) {
  std::string t = "This is the mail system at host " + settings.myhostname + ".\r\n\r\n";
  switch (req.kind) {
    case DsnKind::kFailure:
      if (double_bounce) {
        t += wrap("A message from the null sender <> (a delivery report, most likely) could not be delivered. "
                  "The problem is described below; the message is attached.");
      } else {
        t += wrap(std::string("I'm sorry to have to tell you that your message could not be delivered to one or more "
                              "recipients. ") +
                  (whole ? "It is attached below." : "Its header is attached below."));
        t += "\r\n";
        t += wrap("For further assistance, please send mail to postmaster. If you do so, please include this "
                  "problem report. You can delete your own text from the attached returned message.");
      }
      break;
    case DsnKind::kDelay:
      t += "####################################################################\r\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
           "####################################################################\r\n\r\n";
      t += wrap("Your message could not be delivered yet to the recipients below. The mail system will keep "
                "trying" +
                (req.will_retry_until.time_since_epoch().count() > 0
                     ? " until " + date(req.will_retry_until) + "."
                     : std::string(".")) +
                " You will be told if it gives up.");
      break;
    case DsnKind::kSuccess:
      t += wrap("Your message was successfully delivered to the destinations listed below. If it was delivered "
                "into a mailbox you will receive no further notifications. Otherwise you may still receive "
                "notifications of mail delivery errors from other systems.");
      break;
  }
  t += "\r\n                   The mail system\r\n";
  for (const auto& r : req.recipients) {
    std::string para = "<" + printable(r.final_recipient, utf8) + ">";
    std::string orcpt = r.orcpt.substr(r.orcpt.find(';') == std::string::npos ? 0 : r.orcpt.find(';') + 1);
    if (!orcpt.empty() && !equals_nocase(orcpt, r.final_recipient))
      para += " (expanded from <" + printable(orcpt, utf8) + ">)";
    para += ": ";
    std::string diag = printable(r.diagnostic, utf8);
    std::string reason = printable(r.reason, utf8);
    std::string host = remote_host(r.remote_mta);
    if (!reason.empty()) para += reason;
    else if (!host.empty() && !diag.empty()) para += "host " + host + " said: " + diag;
    else if (!diag.empty()) para += diag;
    else if (r.action == DsnAction::kDelivered) para += "delivery successful";
    else if (r.action == DsnAction::kRelayed) para += "relayed to a system that does not send delivery reports";
    else para += "status " + printable(r.status, false, 16);
    t += "\r\n" + wrap(para, true);
  }
  return t;
}

std::string address_field(std::string_view name, std::string_view address, bool utf8) {
  // RFC 6533 3: a non-ASCII address has type utf-8 (in a global report).
  if (utf8 && !mail::is_ascii(address)) return field(name, "utf-8; " + printable(address, true, 512));
  return field(name, "rfc822; " + printable(address, false, 512));
}

std::string delivery_status(const DsnRequest& req, const DsnSettings& settings, bool utf8) {
  const Envelope& env = *req.original.envelope;
  std::string s;
  s += field("Reporting-MTA", "dns; " + printable(settings.myhostname, false, 255));
  if (!req.original.queue_id.empty()) s += field("X-Tern-Queue-ID", printable(req.original.queue_id, false, 64));
  s += field("X-Tern-Sender", "rfc822; " + printable(env.sender, utf8, 512));
  if (!env.envid.empty())
    s += field("Original-Envelope-Id", printable_ascii(env.envid) ? env.envid.substr(0, 512) : xtext(env.envid.substr(0, 100)));
  s += field("Arrival-Date", date(env.arrival));
  for (const auto& r : req.recipients) {
    s += "\r\n";
    if (!r.orcpt.empty()) {
      // qfile keeps ORCPT decoded, "type;address" (RFC 3461 4.2).
      size_t semi = r.orcpt.find(';');
      std::string type = semi == std::string::npos ? "rfc822" : std::string(trim(r.orcpt.substr(0, semi)));
      std::string addr = semi == std::string::npos ? r.orcpt : r.orcpt.substr(semi + 1);
      bool ok_type = !type.empty() && printable_ascii(type) && type.find(' ') == std::string::npos;
      if (utf8 && !mail::is_ascii(addr)) s += field("Original-Recipient", "utf-8; " + printable(addr, true, 512));
      else
        s += field("Original-Recipient", (ok_type ? type.substr(0, 32) : std::string("rfc822")) + "; " +
                                             (printable_ascii(addr) ? addr.substr(0, 512) : xtext(addr.substr(0, 170))));
    }
    s += address_field("Final-Recipient", r.final_recipient, utf8);
    s += field("Action", dsn_action_name(r.action));
    s += field("Status", printable(r.status, false, 16));
    if (std::string host = remote_host(r.remote_mta); !host.empty()) s += field("Remote-MTA", "dns; " + host);
    std::string diag = printable(r.diagnostic.empty() ? r.reason : r.diagnostic, utf8);
    if (!diag.empty()) s += field("Diagnostic-Code", std::string(diagnostic_type(diag)) + "; " + diag);
    if (r.last_attempt.time_since_epoch().count() > 0) s += field("Last-Attempt-Date", date(r.last_attempt));
    if (req.kind == DsnKind::kDelay && req.will_retry_until.time_since_epoch().count() > 0)
      s += field("Will-Retry-Until", date(req.will_retry_until));
  }
  return s;
}

std::string make_boundary(const DsnRequest& req, const DsnSettings& settings, Clock& clock, int attempt) {
  long long now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  std::string host;
  for (char c : settings.myhostname)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') host += c;
  return strf("%s.%lld.%d/%s", req.original.queue_id.c_str(), now, attempt, host.substr(0, 40).c_str());
}

}  // namespace

std::string_view dsn_action_name(DsnAction action) {
  switch (action) {
    case DsnAction::kFailed: return "failed";
    case DsnAction::kDelayed: return "delayed";
    case DsnAction::kDelivered: return "delivered";
    case DsnAction::kRelayed: return "relayed";
    case DsnAction::kExpanded: return "expanded";
  }
  return "failed";
}

bool wants_notice(unsigned notify, DsnKind kind) {
  if (notify == 0) return kind != DsnKind::kSuccess;  // RFC 3461 4.1: the MTA decides; Postfix: failure, delay
  if (notify & kNotifyNever) return false;
  switch (kind) {
    case DsnKind::kFailure: return notify & kNotifyFailure;
    case DsnKind::kDelay: return notify & kNotifyDelay;
    case DsnKind::kSuccess: return notify & kNotifySuccess;
  }
  return false;
}

DsnRecipientReport dsn_report(const Recipient& rcpt, DsnAction action, const DeferRecord* last) {
  DsnRecipientReport r;
  r.final_recipient = rcpt.address;
  r.orcpt = rcpt.orcpt;
  r.action = action;
  r.status = action == DsnAction::kFailed ? "5.0.0" : "4.0.0";
  // The record must be this recipient's: an index that names another
  // address (a damaged log) is not used.
  if (last && last->address == rcpt.address) {
    if (!last->status.empty()) r.status = last->status;
    r.remote_mta = last->relay;
    r.diagnostic = last->reply;
    r.reason = last->reason;
    r.last_attempt = last->time;
  }
  return r;
}

NoticeTarget notice_target(const Envelope& original, DsnKind kind) {
  if (!original.sender.empty()) return NoticeTarget::kSender;
  if (kind != DsnKind::kFailure) return NoticeTarget::kNone;
  const std::string* notice = original.attribute(kNoticeAttribute);
  if (notice && *notice == "double-bounce") return NoticeTarget::kNone;
  return NoticeTarget::kDoubleBounce;
}

MessageSource MessageSource::of(const QfileReader& reader) {
  MessageSource m;
  m.envelope = &reader.envelope();
  const std::string& path = reader.path();
  size_t slash = path.rfind('/');
  m.queue_id = slash == std::string::npos ? path : path.substr(slash + 1);
  m.size = reader.message_size();
  const QfileReader* r = &reader;
  m.read = [r](uint64_t pos, char* buf, size_t n) { return r->read_message(pos, buf, n); };
  return m;
}

MessageSource MessageSource::of(const Envelope& envelope, std::string_view queue_id, std::string_view bytes) {
  MessageSource m;
  m.envelope = &envelope;
  m.queue_id = std::string(queue_id);
  m.size = bytes.size();
  m.read = [bytes](uint64_t pos, char* buf, size_t n) -> Result<size_t> {
    if (pos >= bytes.size()) return size_t{0};
    size_t k = std::min<size_t>(n, bytes.size() - static_cast<size_t>(pos));
    std::memcpy(buf, bytes.data() + pos, k);
    return k;
  };
  return m;
}

Result<BuiltDsn> build_dsn(const DsnRequest& req, const DsnSettings& settings, Clock& clock, std::string_view to,
                           std::string_view message_id) {
  if (!req.original.envelope || !req.original.read) return invalid("DSN without the original message");
  if (req.recipients.empty()) return invalid("DSN without recipients");
  const Envelope& env = *req.original.envelope;
  const bool utf8 = env.smtputf8;
  const bool double_bounce = notice_target(env, req.kind) == NoticeTarget::kDoubleBounce;

  auto part3 = returned_part(req, settings);
  if (!part3) return part3.take_error();
  std::string boundary;
  for (int attempt = 0;; ++attempt) {
    boundary = make_boundary(req, settings, clock, attempt);
    if (part3->text.find(boundary) == std::string::npos) break;
  }
  // RFC 6532/6533: a global report carries UTF-8 in its parts, so 8bit.
  const bool eight_bit = utf8 || part3->eight_bit;
  const char* cte = eight_bit ? "8bit" : "7bit";

  std::string m;
  m += "From: MAILER-DAEMON@" + printable(settings.myhostname, false, 255) + " (Mail Delivery System)\r\n";
  m += field("Subject", subject(req.kind, double_bounce));
  m += field("To", printable(to, utf8, 512));
  m += "Date: " + date(clock.wall_now()) + "\r\n";
  m += field("Message-ID", printable(message_id, false, 512));
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 5.1
  m += "MIME-Version: 1.0\r\n";
  m += std::string("Content-Type: multipart/report; report-type=") +
       (utf8 ? "global-delivery-status" : "delivery-status") + ";\r\n\tboundary=\"" + boundary + "\"\r\n";
  m += std::string("Content-Transfer-Encoding: ") + cte + "\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  m += "--" + boundary + "\r\n";
  m += "Content-Description: Notification\r\n";
  m += std::string("Content-Type: text/plain; charset=") + (utf8 ? "utf-8" : "us-ascii") + "\r\n";
  if (utf8) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n" + human_text(req, settings, double_bounce, part3->whole, utf8) + "\r\n";

  m += "--" + boundary + "\r\n";
  m += "Content-Description: Delivery report\r\n";
  m += std::string("Content-Type: message/") + (utf8 ? "global-delivery-status" : "delivery-status") + "\r\n";
  if (utf8) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n" + delivery_status(req, settings, utf8) + "\r\n";

  m += "--" + boundary + "\r\n";
  const char* what = req.kind == DsnKind::kFailure ? "Undelivered Message"
                     : req.kind == DsnKind::kDelay ? "Delayed Message"
                                                   : "Delivered Message";
  m += std::string("Content-Description: ") + what + (part3->whole ? "" : " Headers") + "\r\n";
  if (part3->whole) m += std::string("Content-Type: message/") + (utf8 ? "global" : "rfc822") + "\r\n";
  else m += std::string("Content-Type: ") + (utf8 ? "message/global-headers" : "text/rfc822-headers") + "\r\n";
  if (eight_bit) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n" + part3->text;
  if (!part3->text.empty() && part3->text.substr(part3->text.size() - 2) != "\r\n") m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return BuiltDsn{std::move(m), eight_bit};
}

Result<std::string> queue_dsn(const DsnRequest& req, const DsnSettings& settings, const CleanupSettings& cleanup,
                              QueueIdGenerator& ids, Clock& clock) {
  if (!req.original.envelope) return invalid("DSN without the original message");
  const Envelope& orig = *req.original.envelope;
  NoticeTarget target = notice_target(orig, req.kind);
  if (target == NoticeTarget::kNone)
    return make_error(Errc::kNotFound, "no notice for a message from <> (" + std::string(req.original.queue_id) + ")");
  std::string to = orig.sender;
  if (target == NoticeTarget::kDoubleBounce) {
    to = settings.double_bounce_recipient.empty() ? "postmaster" : settings.double_bounce_recipient;
    if (to.find('@') == std::string::npos && !settings.myorigin.empty()) to += "@" + settings.myorigin;
  }
  // The Message-ID takes an ID of its own from the generator (cleanup draws
  // the file's): unique on this host either way.
  std::string message_id = mail::make_message_id(ids.next(), settings.myhostname, clock.wall_now());
  auto built = build_dsn(req, settings, clock, to, message_id);
  if (!built) return built.take_error();

  Envelope env;
  env.arrival = clock.wall_now();
  env.sender = "";
  env.smtputf8 = orig.smtputf8;
  if (built->eight_bit) env.body = BodyType::k8BitMime;
  env.attributes[std::string(kNoticeAttribute)] = target == NoticeTarget::kDoubleBounce ? "double-bounce" : "dsn";
  Recipient r;
  r.address = to;
  env.recipients.push_back(std::move(r));

  CleanupSettings cs = cleanup;
  cs.add_missing_headers = false;  // the notice has its own Date: and Message-ID:
  cs.message_size_limit = 0;       // bounded by construction; never refuse a notice for its size
  auto c = Cleanup::begin(cs, std::move(env), "", ids, clock);
  if (!c) return c.take_error();
  if (auto s = (*c)->append(built->text); !s) return s.take_error();
  if (auto s = (*c)->finish(); !s) return s.take_error();
  if (auto s = (*c)->commit(); !s) return s.take_error();
  return (*c)->queue_id();
}

}  // namespace tern::queue
