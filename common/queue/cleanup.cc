#include "common/queue/cleanup.h"

#include <set>

#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/mail/header.h"

namespace tern::queue {
namespace {

// The field name of a header line ("Received" for "Received: from ..."), or
// "" for a continuation line.
std::string_view field_name(std::string_view line) {
  if (line.empty() || line.front() == ' ' || line.front() == '\t') return {};
  auto colon = line.find(':');
  return colon == std::string_view::npos ? std::string_view() : trim(line.substr(0, colon));
}

// A header field's line ("Name: value", RFC 5322 2.2: printable ASCII but
// ':' in the name, with the obsolete white space before the colon of 4.5.3)
// or, after the first, a continuation line (RFC 5322 2.2.3).
bool is_header_line(std::string_view line, bool first) {
  if (line.front() == ' ' || line.front() == '\t') return !first;
  size_t i = 0;
  while (i < line.size() && line[i] >= 33 && line[i] <= 126 && line[i] != ':') ++i;
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == ':';
}

}  // namespace

std::vector<Recipient> remove_duplicates(std::vector<Recipient> recipients) {
  std::set<std::string> seen;
  std::vector<Recipient> out;
  for (auto& r : recipients) {
    // Local parts are case-sensitive (RFC 5321 2.4); domains are not.
    std::string key = r.address;
    if (auto at = key.rfind('@'); at != std::string::npos) key = key.substr(0, at) + to_lower(key.substr(at));
    if (seen.insert(key).second) out.push_back(std::move(r));
  }
  return out;
}

Result<std::unique_ptr<Cleanup>> Cleanup::begin(const CleanupSettings& settings, Envelope envelope,
                                                std::string received, QueueIdGenerator& ids, Clock& clock) {
  if (settings.aliases) {
    std::vector<std::string> warnings;
    auto expanded = expand_aliases(*settings.aliases, envelope.recipients, &warnings);
    for (auto& w : warnings) log::warning("%s", w.c_str());
    if (!expanded) return expanded.take_error();
    if (expanded->empty()) return make_error(Errc::kInvalid, "no deliverable recipient left after alias expansion");
    envelope.recipients = std::move(*expanded);
  }
  envelope.recipients = remove_duplicates(std::move(envelope.recipients));
  size_t n = envelope.recipients.size();
  auto writer = QfileWriter::create(settings.queue_dir, ids.next(), envelope, {.size_limit = settings.message_size_limit, .target = settings.hold ? Queue::kHold : Queue::kIncoming});
  if (!writer) return writer.take_error();
  std::unique_ptr<Cleanup> c(new Cleanup(settings, std::move(*writer), clock, n));
  if (!received.empty()) {
    if (auto s = c->writer_.append(received); !s) return s.take_error();
  }
  return c;
}

Status Cleanup::refuse(CleanupFault fault, Error e) {
  if (fault_ == CleanupFault::kNone) fault_ = fault;
  return e;
}

Status Cleanup::append(std::string_view bytes) {
  if (fault_ != CleanupFault::kNone) return make_error(Errc::kInvalid, "message already refused");
  if (!in_headers_) {
    auto s = writer_.append(bytes);
    if (!s) return refuse(s.error().code == Errc::kLimit ? CleanupFault::kTooBig : CleanupFault::kSystem, s.take_error());
    return s;
  }
  // Hold the header block until the line that ends it: the empty line (RFC
  // 5322 2.1), or the first that is not a header field.
  headers_.append(bytes);
  size_t end = std::string::npos;
  bool add_separator = false;
  while (end == std::string::npos) {
    size_t eol = headers_.find("\r\n", checked_);
    if (eol == std::string::npos) break;
    std::string_view line(headers_.data() + checked_, eol - checked_);
    if (line.empty()) {
      end = checked_;
    } else if (!is_header_line(line, checked_ == 0)) {
      end = checked_;
      add_separator = true;
    } else {
      checked_ = eol + 2;
    }
  }
  if (end == std::string::npos) {
    if (headers_.size() > settings_.header_size_limit)
      return refuse(CleanupFault::kHeaderTooLarge,
                    make_error(Errc::kLimit, strf("message header larger than %zu bytes", settings_.header_size_limit)));
    return {};
  }
  // The empty line and the body; one is put in front of a body that
  // started without it.
  std::string rest = (add_separator ? "\r\n" : "") + headers_.substr(end);
  headers_.resize(end);
  if (headers_.size() > settings_.header_size_limit)
    return refuse(CleanupFault::kHeaderTooLarge,
                  make_error(Errc::kLimit, strf("message header larger than %zu bytes", settings_.header_size_limit)));
  if (auto s = end_of_headers(); !s) return s;
  in_headers_ = false;
  return append(rest);
}

Status Cleanup::end_of_headers() {
  size_t fields = 0;
  int received = 0;
  bool has_message_id = false, has_date = false;
  bool in_message_id = false;  // on the Message-ID: field's continuation lines
  for (auto line : split(headers_, '\n')) {
    auto name = field_name(line);
    if (name.empty()) {
      if (in_message_id) message_id_ += std::string(trim(line));
      continue;
    }
    in_message_id = false;
    ++fields;
    if (equals_nocase(name, "Received")) ++received;
    else if (equals_nocase(name, "Date")) has_date = true;
    else if (equals_nocase(name, "Message-ID") && !has_message_id) {
      has_message_id = in_message_id = true;
      message_id_ = std::string(trim(line.substr(line.find(':') + 1)));
    }
  }
  if (message_id_.size() > kMessageIdLogLimit) message_id_.resize(kMessageIdLogLimit);
  if (fields > settings_.header_count_limit)
    return refuse(CleanupFault::kHeaderTooLarge,
                  make_error(Errc::kLimit, strf("more than %zu header fields", settings_.header_count_limit)));
  // Our own Received: line is counted too, as every hop's is.
  if (received + 1 > settings_.hopcount_limit)
    return refuse(CleanupFault::kTooManyHops,
                  make_error(Errc::kLimit, strf("too many hops (%d Received: header fields)", received + 1)));
  if (settings_.add_missing_headers) {
    if (!has_message_id) {
      message_id_ = mail::make_message_id(writer_.id(), settings_.myhostname);
      headers_ += "Message-ID: " + message_id_ + "\r\n";
    }
    if (!has_date) headers_ += "Date: " + mail::rfc5322_date(clock_.wall_now(), mail::TimeZone::local(clock_.wall_now())) + "\r\n";
  }
  auto s = writer_.append(headers_);
  headers_.clear();
  headers_.shrink_to_fit();
  if (!s) return refuse(s.error().code == Errc::kLimit ? CleanupFault::kTooBig : CleanupFault::kSystem, s.take_error());
  return s;
}

Status Cleanup::finish() {
  if (fault_ != CleanupFault::kNone) return make_error(Errc::kInvalid, "message refused");
  if (in_headers_) {
    // The message ended inside its header block (no body, maybe no final
    // CRLF): all header, but for a last line that is not a header field,
    // which is the body, after an empty line.
    in_headers_ = false;
    std::string body;
    if (checked_ < headers_.size() && !is_header_line(std::string_view(headers_).substr(checked_), checked_ == 0)) {
      body = "\r\n" + headers_.substr(checked_);
      headers_.resize(checked_);
    } else if (!headers_.empty() && headers_.compare(headers_.size() - 2, 2, "\r\n") != 0) {
      headers_ += "\r\n";
    }
    if (auto s = end_of_headers(); !s) return s;
    if (!body.empty()) {
      if (auto s = writer_.append(body); !s)
        return refuse(s.error().code == Errc::kLimit ? CleanupFault::kTooBig : CleanupFault::kSystem, s.take_error());
    }
  }
  auto s = writer_.finish();
  if (!s) return refuse(CleanupFault::kSystem, s.take_error());
  return s;
}

Status Cleanup::commit() {
  auto s = writer_.commit();
  if (!s) return refuse(CleanupFault::kSystem, s.take_error());
  return s;
}

void Cleanup::abort() { writer_.abort(); }

}  // namespace tern::queue
