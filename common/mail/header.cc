#include "common/mail/header.h"

#include <ctime>

#include "common/base/strings.h"
#include "common/mail/utf8.h"

namespace tern::mail {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Client-supplied text in a trace field: control bytes, white space and
// malformed UTF-8 become '?', so the field stays one token and one line.
std::string token(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const CodePoint cp = decode_utf8(s.substr(i));
      if (cp.length == 0) {
        out.push_back('?');
        ++i;
      } else {
        out.append(s.substr(i, cp.length));
        i += cp.length;
      }
      continue;
    }
    out.push_back(c <= 32 || c == 127 ? '?' : static_cast<char>(c));
    ++i;
  }
  return out;
}

// Our own text (TLS details): only control bytes are replaced.
std::string text(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 32 || c == 127) c = '?';
  return out;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

time_t to_time_t(WallTime t) {
  return static_cast<time_t>(std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

std::string_view HeaderField::value() const {
  const size_t colon = raw.find(':');
  return colon == std::string::npos ? std::string_view() : std::string_view(raw).substr(colon + 1);
}

std::string HeaderField::unfolded() const {
  const std::string_view v = value();
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\r' && i + 1 < v.size() && v[i + 1] == '\n') continue;
    if (v[i] == '\n') continue;
    out.push_back(v[i]);
  }
  size_t b = 0, e = out.size();
  while (b < e && is_wsp(out[b])) ++b;
  while (e > b && is_wsp(out[e - 1])) --e;
  return out.substr(b, e - b);
}

bool is_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c < 33 || c > 126 || c == ':') return false;
  return true;
}

const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (equals_nocase(f.name, name)) return &f;
  return nullptr;
}

size_t count_fields(const std::vector<HeaderField>& fields, std::string_view name) {
  size_t n = 0;
  for (const auto& f : fields)
    if (equals_nocase(f.name, name)) ++n;
  return n;
}

Error HeaderParser::limit(HeaderLimit which, std::string text) {
  limit_hit_ = which;
  done_ = true;
  return make_error(Errc::kLimit, std::move(text));
}

Result<HeaderParser::Step> HeaderParser::add_line(std::string_view line) {
  if (limit_hit_ != HeaderLimit::kNone) return make_error(Errc::kLimit, "header parser already failed");
  if (done_) return Step::kBody;
  line = strip_cr(line);
  if (line.empty()) {
    done_ = true;
    return Step::kEnd;
  }
  const size_t line_size = line.size() + 2;  // counted with its CRLF
  if (is_wsp(line.front())) {
    // RFC 5322 2.2.3: a line starting with WSP continues the field above.
    if (fields_.empty()) {
      done_ = true;
      return Step::kBody;
    }
    HeaderField& f = fields_.back();
    if (f.raw.size() + line_size > limits_.field)
      return limit(HeaderLimit::kField, strf("header field %s longer than %zu bytes", f.name.c_str(), limits_.field));
    if (size_ + line_size > limits_.total)
      return limit(HeaderLimit::kTotal, strf("message header larger than %zu bytes", limits_.total));
    f.raw += "\r\n";
    f.raw += line;
    size_ += line_size;
    return Step::kMore;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    done_ = true;
    return Step::kBody;
  }
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // RFC 5322 4.5 obs
  if (!is_field_name(name)) {
    done_ = true;
    return Step::kBody;
  }
  if (fields_.size() + 1 > limits_.fields)
    return limit(HeaderLimit::kFields, strf("more than %zu header fields", limits_.fields));
  if (line.size() > limits_.field)
    return limit(HeaderLimit::kField,
                 strf("header field %.*s longer than %zu bytes", int(name.size()), name.data(), limits_.field));
  if (size_ + line_size > limits_.total)
    return limit(HeaderLimit::kTotal, strf("message header larger than %zu bytes", limits_.total));
  fields_.push_back(HeaderField{std::string(name), std::string(line)});
  size_ += line_size;
  return Step::kMore;
}

Result<HeaderBlock> parse_header_block(std::string_view text, const HeaderLimits& limits, HeaderLimit* which) {
  if (which) *which = HeaderLimit::kNone;
  HeaderParser parser(limits);
  HeaderBlock block;
  block.body_offset = text.size();
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string_view line = text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos);
    auto step = parser.add_line(line);
    if (!step) {
      if (which) *which = parser.limit_hit();
      return step.take_error();
    }
    if (*step == HeaderParser::Step::kEnd) {
      block.body_offset = next;
      break;
    }
    if (*step == HeaderParser::Step::kBody) {
      block.body_offset = pos;
      break;
    }
    pos = next;
  }
  block.fields = parser.take_fields();
  return block;
}

std::string fold_field(std::string_view field, size_t width) {
  std::string out;
  out.reserve(field.size() + 16);
  bool first = true;
  for (std::string_view line : split(field, '\n')) {
    line = strip_cr(line);
    // On the field's first line, text must follow the colon before a fold:
    // a line holding only "Name:" helps nobody.
    size_t content_from = 0;
    if (first) {
      const size_t colon = line.find(':');
      content_from = colon == std::string_view::npos ? 0 : colon + 1;
    } else {
      out += "\r\n";
    }
    first = false;
    while (line.size() > width) {
      // A fold point p: white space with text before it on this line and
      // after it (RFC 5322 3.2.2: no line of white space only).
      auto good = [&](size_t p) {
        if (!is_wsp(line[p])) return false;
        bool before = false, after = false;
        for (size_t i = content_from; i < p && !before; ++i) before = !is_wsp(line[i]);
        for (size_t i = p; i < line.size() && !after; ++i) after = !is_wsp(line[i]);
        return before && after;
      };
      size_t p = std::string_view::npos;
      for (size_t i = width; i > 0; --i)
        if (good(i)) {
          p = i;
          break;
        }
      if (p == std::string_view::npos)
        for (size_t i = width + 1; i < line.size(); ++i)
          if (good(i)) {
            p = i;
            break;
          }
      if (p == std::string_view::npos) break;
      out.append(line.substr(0, p));
      out += "\r\n";
      line.remove_prefix(p);
      content_from = 0;
    }
    out.append(line);
  }
  return out;
}

TimeZone TimeZone::local(WallTime t) {
  const time_t tt = to_time_t(t);
  struct tm tm {};
  TimeZone tz;
  if (localtime_r(&tt, &tm) == nullptr) return tz;
  tz.offset_seconds = static_cast<int>(tm.tm_gmtoff);
  tz.name = tm.tm_zone ? tm.tm_zone : "";
  return tz;
}

std::string rfc5322_date(WallTime t, const TimeZone& tz) {
  const time_t shifted = to_time_t(t) + tz.offset_seconds;
  struct tm tm {};
  gmtime_r(&shifted, &tm);
  const int minutes = (tz.offset_seconds < 0 ? -tz.offset_seconds : tz.offset_seconds) / 60;
  std::string out = strf("%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", kDays[tm.tm_wday % 7], tm.tm_mday,
                         kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         tz.offset_seconds < 0 ? '-' : '+', minutes / 60 % 100, minutes % 60);
  // The zone name is a comment (RFC 5322 3.3 obs-zone is read, not written);
  // anything but letters, digits, '+' and '-' would need quoting, so such a
  // name is left out.
  bool name_ok = !tz.name.empty();
  for (unsigned char c : tz.name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-'))
      name_ok = false;
  if (name_ok) out += " (" + tz.name + ")";
  return out;
}

std::string rfc5322_date(WallTime t) { return rfc5322_date(t, TimeZone::local(t)); }

std::string make_message_id(std::string_view queue_id, std::string_view hostname, WallTime t) {
  const time_t tt = to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  return strf("<%04d%02d%02d%02d%02d%02d.%.*s@%.*s>", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
              tm.tm_min, tm.tm_sec, int(queue_id.size()), queue_id.data(), int(hostname.size()), hostname.data());
}

std::string make_message_id(std::string_view queue_id, std::string_view hostname) {
  return make_message_id(queue_id, hostname, system_clock().wall_now());
}

std::string with_protocol(bool esmtp, bool tls, bool auth, bool smtputf8, bool lmtp) {
  // RFC 3848 3: "S" for TLS, "A" for authentication, in that order; plain
  // SMTP (HELO) has neither, since STARTTLS and AUTH need EHLO.
  std::string out = lmtp ? "LMTP" : smtputf8 ? "UTF8SMTP" : esmtp ? "ESMTP" : "SMTP";
  if (esmtp || lmtp || smtputf8) {
    if (tls) out += 'S';
    if (auth) out += 'A';
  }
  return out;
}

std::string received_header(const ReceivedInfo& info) {
  const std::string name = token(info.client_name.empty() ? "unknown" : info.client_name);
  const std::string helo = info.helo.empty() ? name : token(info.helo);
  // RFC 5321 4.1.3: an IPv6 address literal carries the "IPv6:" tag.
  const std::string addr =
      (info.client_addr.find(':') != std::string::npos ? "IPv6:" : "") + token(info.client_addr);
  std::vector<std::string> lines;
  lines.push_back("Received: from " + helo + " (" + name + " [" + addr + "])");
  if (info.tls) {
    const TlsDetails& t = *info.tls;
    std::string using_line = strf("(using %s with cipher %s (%d/%d bits)", token(t.protocol).c_str(),
                                  token(t.cipher).c_str(), t.usebits, t.algbits);
    if (!t.key_exchange.empty()) using_line += "\r\n\t " + text(t.key_exchange);
    lines.push_back(using_line + ")");
    if (!t.client_cert.empty()) lines.push_back("(" + text(t.client_cert) + ")");
  }
  if (!info.authenticated_sender.empty())
    lines.push_back("(Authenticated sender: " + token(info.authenticated_sender) + ")");
  const std::string date = rfc5322_date(info.time, info.zone);
  std::string by = "by " + token(info.by_host) + " (" + token(info.mail_name) + ") with " + token(info.protocol) +
                   " id " + token(info.queue_id);
  if (info.recipient.empty()) {
    // Postfix's shape: the date on a line of its own after "id QUEUEID;".
    lines.push_back(by + ";");
    lines.push_back(date);
  } else {
    lines.push_back(by);
    // Our canonical address: a quoted local part may hold spaces.
    lines.push_back("for <" + text(info.recipient) + ">; " + date);
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\r\n\t";
    out += lines[i];
  }
  return fold_field(out);
}

std::string local_received_header(std::string_view by_host, std::string_view mail_name, long uid,
                                  std::string_view queue_id, WallTime t, const TimeZone& tz) {
  return fold_field(strf("Received: by %s (%s, from userid %ld)\r\n\tid %s; %s", token(by_host).c_str(),
                         token(mail_name).c_str(), uid, token(queue_id).c_str(), rfc5322_date(t, tz).c_str()));
}

}  // namespace tern::mail
