// Local submission formats (maildrop.h).

#include "common/queue/maildrop.h"

#include <set>

#include "common/base/strings.h"
#include "common/ipc/escape.h"

namespace tern::queue {
namespace {

// One decimal spelling per number, as the queue file's: digits, no sign, no
// leading zero, at most 19 digits.
std::optional<uint64_t> canonical_number(std::string_view s) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

Error bad(std::string text) { return invalid("submission stream: " + std::move(text)); }

Status parse_recipient(std::string_view value, Recipient* r) {
  std::set<std::string_view> keys;
  for (std::string_view field : split(value, '\t')) {
    size_t eq = field.find('=');
    std::string_view key = field.substr(0, eq);
    if (eq == std::string_view::npos) return bad("bad RCPT field");
    if (!keys.insert(key).second) return bad("repeated RCPT field " + ipc::escape(key));
    auto text = ipc::unescape(field.substr(eq + 1));
    if (!text) return bad("bad escape in RCPT " + ipc::escape(key));
    if (key == record::kTo) {
      r->address = std::move(*text);
    } else if (key == record::kOrcpt) {
      r->orcpt = std::move(*text);
    } else if (key == record::kNotify) {
      auto flags = parse_notify(*text);
      if (!flags) return bad("RCPT: " + flags.error().text);
      r->notify = *flags;
    } else {
      return bad("unexpected RCPT field " + ipc::escape(key));
    }
  }
  if (r->address.empty()) return bad("RCPT without TO");
  return {};
}

}  // namespace

Result<std::string> format_submission(const Submission& s) {
  if (s.recipients.empty()) return invalid("no recipients");
  if (s.recipients.size() > kMaxSubmissionRecipients)
    return make_error(Errc::kLimit, strf("more than %zu recipients", kMaxSubmissionRecipients));
  std::string out = strf("%s %d\n", std::string(kSubmitMagic).c_str(), kSubmitVersion);
  auto add = [&out](std::string_view name, std::string_view escaped) -> Status {
    if (name.size() + 2 + escaped.size() > kMaxRecordLine)
      return make_error(Errc::kLimit, std::string(name) + " longer than " + std::to_string(kMaxRecordLine) + " bytes");
    out.append(name).append(" ").append(escaped).append("\n");
    return {};
  };
  if (auto st = add(record::kSender, ipc::escape(s.sender)); !st) return st.take_error();
  if (s.ret != DsnRet::kUnspecified) (void)add(record::kRet, dsn_ret_name(s.ret));
  if (!s.envid.empty()) {
    if (auto st = add(record::kEnvid, ipc::escape(s.envid)); !st) return st.take_error();
  }
  for (const auto& r : s.recipients) {
    if (r.address.empty()) return invalid("empty recipient address");
    std::string v = std::string(record::kTo) + "=" + ipc::escape(r.address);
    if (r.notify != 0) {
      std::string flags = format_notify(r.notify);
      if (!parse_notify(flags)) return invalid("bad NOTIFY flags for " + r.address);
      v += "\t" + std::string(record::kNotify) + "=" + flags;
    }
    if (!r.orcpt.empty()) v += "\t" + std::string(record::kOrcpt) + "=" + ipc::escape(r.orcpt);
    if (auto st = add(record::kRcpt, v); !st) return st.take_error();
  }
  out.append(record::kEoe).append("\n");
  return out;
}

std::string format_chunk(std::string_view bytes) {
  return "DATA " + std::to_string(bytes.size()) + "\n" + std::string(bytes);
}

std::string format_submission_end(uint64_t total) { return "END " + std::to_string(total) + "\n"; }

Result<bool> SubmissionReader::fill() {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + kMaxChunk);
  auto got = read_(buf_.data() + old, kMaxChunk);
  if (!got) {
    buf_.resize(old);
    return got.take_error();
  }
  buf_.resize(old + *got);
  return *got > 0;
}

Result<std::string> SubmissionReader::line() {
  for (;;) {
    size_t lf = buf_.find('\n', pos_);
    if (lf != std::string::npos && lf - pos_ + 1 <= kMaxRecordLine) {
      std::string out = buf_.substr(pos_, lf - pos_);
      pos_ = lf + 1;
      return out;
    }
    if (buf_.size() - pos_ >= kMaxRecordLine) return bad(strf("line longer than %zu bytes", kMaxRecordLine));
    auto more = fill();
    if (!more) return more.take_error();
    if (!*more) return bad("input ended before the end record (the sender stopped half-way)");
  }
}

Result<Submission> SubmissionReader::envelope() {
  auto magic = line();
  if (!magic) return magic.take_error();
  if (*magic != strf("%s %d", std::string(kSubmitMagic).c_str(), kSubmitVersion))
    return bad("not a submission stream of version " + std::to_string(kSubmitVersion));
  Submission s;
  std::set<std::string> seen;
  for (;;) {
    auto l = line();
    if (!l) return l.take_error();
    envelope_bytes_ += l->size() + 1;
    if (envelope_bytes_ > kMaxSubmissionEnvelope)
      return make_error(Errc::kLimit, strf("envelope larger than %zu bytes", kMaxSubmissionEnvelope));
    std::string_view text = *l;
    if (text == record::kEoe) break;
    size_t sp = text.find(' ');
    if (sp == std::string_view::npos) return bad("record without a value: " + ipc::escape(text.substr(0, 64)));
    std::string_view name = text.substr(0, sp), value = text.substr(sp + 1);
    if (name == record::kRcpt) {
      if (s.recipients.size() >= kMaxSubmissionRecipients)
        return make_error(Errc::kLimit, strf("more than %zu recipients", kMaxSubmissionRecipients));
      Recipient r;
      if (auto st = parse_recipient(value, &r); !st) return st.take_error();
      s.recipients.push_back(std::move(r));
      continue;
    }
    if (name != record::kSender && name != record::kRet && name != record::kEnvid)
      return bad("unexpected record " + ipc::escape(name.substr(0, 64)));
    if (!seen.emplace(name).second) return bad("repeated " + std::string(name) + " record");
    if (name == record::kRet) {
      if (value == dsn_ret_name(DsnRet::kFull)) s.ret = DsnRet::kFull;
      else if (value == dsn_ret_name(DsnRet::kHdrs)) s.ret = DsnRet::kHdrs;
      else return bad("bad RET value");
      continue;
    }
    auto v = ipc::unescape(value);
    if (!v) return bad("bad escape in " + std::string(name));
    if (name == record::kSender) {
      s.sender = std::move(*v);
    } else {
      if (v->empty()) return bad("empty ENVID");
      s.envid = std::move(*v);
    }
  }
  if (!seen.count(std::string(record::kSender))) return bad("no SENDER record");
  if (s.recipients.empty()) return bad("no RCPT record");
  return s;
}

Result<bool> SubmissionReader::next_chunk(std::string* out) {
  out->clear();
  if (ended_) return false;
  auto l = line();
  if (!l) return l.take_error();
  std::string_view text = *l;
  if (text.starts_with("END ")) {
    auto n = canonical_number(text.substr(4));
    if (!n || *n != total_) return bad("the end record does not match the message length");
    // Nothing may follow: a second message smuggled after the first would
    // otherwise go unnoticed.
    if (pos_ < buf_.size()) return bad("data after the end record");
    auto more = fill();
    if (!more) return more.take_error();
    if (*more) return bad("data after the end record");
    ended_ = true;
    return false;
  }
  if (!text.starts_with("DATA ")) return bad("expected DATA or END, not " + ipc::escape(text.substr(0, 64)));
  auto n = canonical_number(text.substr(5));
  if (!n || *n == 0 || *n > kMaxChunk) return bad("bad DATA length");
  while (buf_.size() - pos_ < *n) {
    auto more = fill();
    if (!more) return more.take_error();
    if (!*more) return bad("input ended inside a DATA record (the sender stopped half-way)");
  }
  out->assign(buf_, pos_, static_cast<size_t>(*n));
  pos_ += static_cast<size_t>(*n);
  total_ += *n;
  return true;
}

Envelope maildrop_envelope(const Submission& s, WallTime arrival, uid_t uid, std::string_view login) {
  Envelope env;
  env.arrival = arrival;
  env.sender = s.sender;
  env.ret = s.ret;
  env.envid = s.envid;
  env.attributes[std::string(attr::kUid)] = std::to_string(uid);
  if (!login.empty()) env.attributes[std::string(attr::kLogin)] = std::string(login);
  for (const auto& r : s.recipients) {
    Recipient out;
    out.address = r.address;
    out.orcpt = r.orcpt;
    out.notify = r.notify;
    env.recipients.push_back(std::move(out));
  }
  return env;
}

Status check_maildrop(const Envelope& env, uid_t owner) {
  const std::string* uid = env.attribute(attr::kUid);
  if (!uid) return invalid("no uid record");
  auto n = canonical_number(*uid);
  if (!n || *n > 0xffffffffULL) return invalid("bad uid record \"" + ipc::escape(*uid) + "\"");
  if (*n != static_cast<uint64_t>(owner))
    return invalid(strf("recorded uid %s is not the file's owner %lu", uid->c_str(), static_cast<unsigned long>(owner)));
  for (const auto& [name, value] : env.attributes) {
    if (name == attr::kUid || name == attr::kLogin) continue;
    // What smtpd records about its clients is exactly what a local user
    // must not be able to claim.
    bool trusted = name == attr::kClientAddress || name == attr::kClientName || name == attr::kClientPort ||
                   name == attr::kHeloName || name == attr::kSaslMethod || name == attr::kSaslUsername ||
                   name == attr::kProtocol;
    return invalid((trusted ? "carries the trusted attribute " : "carries the unexpected record ") + name);
  }
  if (env.body != BodyType::kUnspecified) return invalid("carries the unexpected record BODY");
  if (env.smtputf8) return invalid("carries the unexpected record SMTPUTF8");
  for (const auto& r : env.recipients) {
    if (!r.original.empty()) return invalid("carries an original= recipient field");
    if (r.status != RcptStatus::kPending) return invalid("carries a recipient that is not pending");
  }
  return {};
}

}  // namespace tern::queue
