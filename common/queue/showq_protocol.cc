// The showq protocol (showq_protocol.h).

#include "common/queue/showq_protocol.h"

#include <algorithm>

#include "common/base/strings.h"
#include "common/ipc/escape.h"
#include "common/queue/queue_id.h"

namespace tern::queue::showq {
namespace {

constexpr size_t kMaxFields = 32;

Error protocol_error(std::string text) { return invalid("showq: " + std::move(text)); }

// A non-negative decimal field.
Result<unsigned long long> number(const ipc::Line& line, std::string_view key) {
  const std::string* v = line.get(key);
  if (!v) return protocol_error(line.command + " without " + std::string(key) + "=");
  auto n = parse_int(*v);
  if (!n || *n < 0 || v->empty() || (*v)[0] == ' ' || (*v)[0] == '+')
    return protocol_error("bad " + std::string(key) + "=" + *v);
  return static_cast<unsigned long long>(*n);
}

Result<std::string> text(const ipc::Line& line, std::string_view key) {
  const std::string* v = line.get(key);
  if (!v) return protocol_error(line.command + " without " + std::string(key) + "=");
  return *v;
}

}  // namespace

std::string Request::format() const {
  ipc::Line line;
  line.command = "LIST";
  if (!id.empty()) line.add("id", id);
  return line.format();
}

Result<Request> Request::parse(std::string_view text) {
  if (text.size() > kMaxRequestLine) return make_error(Errc::kLimit, "showq: request line too long");
  auto line = ipc::Line::parse(text, kMaxFields);
  if (!line) return line.take_error();
  if (line->command != "LIST") return protocol_error("unknown request " + line->command);
  Request r;
  if (const std::string* id = line->get("id")) {
    if (!is_valid_queue_id(*id)) return protocol_error("not a queue ID: " + ipc::escape(*id));
    r.id = *id;
  }
  return r;
}

std::string format_entry(const ListingEntry& e) {
  ipc::Line m;
  m.command = "MESSAGE";
  m.add("queue", std::string(queue_name(e.where)))
      .add("id", e.id)
      .add("arrival", std::to_string(e.arrival_us))
      .add("size", std::to_string(e.size))
      .add("sender", e.sender)
      .add("rcpts", std::to_string(e.recipients.size()));
  std::string out = m.format();
  for (const auto& r : e.recipients) {
    ipc::Line l;
    l.command = "RCPT";
    l.add("address", r.address).add("status", std::string(status_name(r.status)));
    if (!r.reason.empty()) l.add("reason", r.reason);
    out += l.format();
  }
  return out;
}

std::string format_end(size_t count) {
  ipc::Line l;
  l.command = "END";
  l.add("count", std::to_string(count));
  return l.format();
}

std::string format_error(std::string_view why) {
  ipc::Line l;
  l.command = "ERROR";
  l.add("text", std::string(why));
  return l.format();
}

Result<Decoder::Event> Decoder::feed(std::string_view raw) {
  if (raw.size() > kMaxReplyLine) return make_error(Errc::kLimit, "showq: reply line too long");
  if (state_ == State::kGreeting) {
    auto v = ipc::Version::parse(raw);
    if (!v) return protocol_error("bad greeting: " + v.error().text);
    if (Status st = ipc::check_version(*v, kProto, kMajor); !st) return st.take_error();
    state_ = State::kMessage;
    return Event::kNone;
  }
  if (state_ == State::kDone) return protocol_error("data after END");
  auto line = ipc::Line::parse(raw, kMaxFields);
  if (!line) return protocol_error(line.error().text);
  if (line->command == "ERROR") {
    const std::string* t = line->get("text");
    state_ = State::kDone;
    return make_error(Errc::kTemporary, t ? *t : std::string("showq failed"));
  }
  if (state_ == State::kRecipients) {
    if (line->command != "RCPT") return protocol_error("expected RCPT, got " + line->command);
    auto address = text(*line, "address");
    if (!address) return address.take_error();
    auto word = text(*line, "status");
    if (!word) return word.take_error();
    auto status = parse_status(*word);
    if (!status) return protocol_error("bad status=" + *word);
    const std::string* reason = line->get("reason");  // 1.1; absent: none
    entry_.recipients.push_back({std::move(*address), *status, reason ? *reason : std::string()});
    if (--rcpts_left_ > 0) return Event::kNone;
    state_ = State::kMessage;
    return Event::kEntry;
  }
  // kMessage
  if (line->command == "END") {
    state_ = State::kDone;
    return Event::kEnd;
  }
  if (line->command != "MESSAGE") return protocol_error("expected MESSAGE or END, got " + line->command);
  ListingEntry e;
  auto q = text(*line, "queue");
  if (!q) return q.take_error();
  auto where = parse_queue_name(*q);
  if (!where) return protocol_error("bad queue=" + *q);
  e.where = *where;
  auto id = text(*line, "id");
  if (!id) return id.take_error();
  if (!is_valid_queue_id(*id)) return protocol_error("bad id=" + ipc::escape(*id));
  e.id = std::move(*id);
  auto arrival = number(*line, "arrival");
  if (!arrival) return arrival.take_error();
  e.arrival_us = static_cast<long long>(*arrival);
  auto size = number(*line, "size");
  if (!size) return size.take_error();
  e.size = *size;
  auto sender = text(*line, "sender");
  if (!sender) return sender.take_error();
  e.sender = std::move(*sender);
  auto rcpts = number(*line, "rcpts");
  if (!rcpts) return rcpts.take_error();
  if (*rcpts > kMaxRecipients) return make_error(Errc::kLimit, "showq: too many recipients");
  entry_ = std::move(e);
  rcpts_left_ = static_cast<size_t>(*rcpts);
  if (rcpts_left_ == 0) return Event::kEntry;
  entry_.recipients.reserve(std::min<size_t>(rcpts_left_, 1024));
  state_ = State::kRecipients;
  return Event::kNone;
}

ListingEntry Decoder::take_entry() { return std::move(entry_); }

}  // namespace tern::queue::showq
