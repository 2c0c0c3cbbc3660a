// The delivery protocol's messages (delivery_protocol.h) over the line codec.

#include "common/ipc/delivery_protocol.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <utility>

#include "common/ipc/escape.h"

namespace tern::ipc {
namespace {

constexpr size_t kMaxFields = 16;

constexpr std::array<std::pair<DeliveryAction, std::string_view>, 4> kActions = {{
    {DeliveryAction::kDelivered, "delivered"},
    {DeliveryAction::kRelayed, "relayed"},
    {DeliveryAction::kDeferred, "deferred"},
    {DeliveryAction::kBounced, "bounced"},
}};

Result<Line> parse_line(std::string_view text) {
  if (text.size() > kDeliveryMaxLine)
    return make_error(Errc::kLimit, "line longer than " + std::to_string(kDeliveryMaxLine));
  return Line::parse(text, kMaxFields);
}

Result<std::string> required(const Line& l, std::string_view key) {
  const std::string* v = l.get(key);
  if (!v || v->empty()) return invalid(std::string(key) + "= missing");
  return *v;
}

// A decimal count without sign or leading zeros, at most `max`.
Result<size_t> count_field(const Line& l, std::string_view key, size_t max) {
  auto v = required(l, key);
  if (!v) return v.take_error();
  const std::string& s = *v;
  bool digits = s.size() <= 9 && (s == "0" || s[0] != '0');
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  size_t n = 0;
  if (digits) std::from_chars(s.data(), s.data() + s.size(), n);
  if (!digits || n > max) return invalid(std::string(key) + "= is not a count up to " + std::to_string(max));
  return n;
}

// Seconds as "%.3f"-style decimals; bounded and never negative.
Result<double> seconds_field(const Line& l, std::string_view key) {
  const std::string* v = l.get(key);
  if (!v) return 0.0;
  double d = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), d, std::chars_format::fixed);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size() || !(d >= 0) || d > 1e9)
    return invalid(std::string(key) + "= is not a number of seconds");
  return d;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0.0 : s);
  return buf;
}

}  // namespace

std::string_view delivery_protocol_name(DeliveryProtocol p) { return p == DeliveryProtocol::kLmtp ? "lmtp" : "smtp"; }

std::string_view delivery_action_name(DeliveryAction a) {
  for (const auto& [action, name] : kActions)
    if (action == a) return name;
  return "?";
}

bool is_enhanced_status(std::string_view s) {
  // class "." subject "." detail; RFC 3463 section 2: 1-3 digits each.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    size_t n = i - start;
    if (n == 0 || n > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

std::string DeliveryRequest::format() const {
  Line head;
  head.command = "deliver";
  head.add("id", queue_id)
      .add("queue_file", queue_file)
      .add("transport", transport)
      .add("protocol", std::string(delivery_protocol_name(protocol)))
      .add("nexthop", nexthop)
      .add("nrcpt", std::to_string(recipients.size()));
  std::string out = head.format();
  for (const auto& r : recipients) {
    Line l;
    l.command = "rcpt";
    l.add("index", std::to_string(r.index)).add("address", r.address);
    out += l.format();
  }
  out += "end\n";
  return out;
}

Result<bool> DeliveryRequestReader::feed(std::string_view text) {
  auto line = parse_line(text);
  if (!line) {
    current_.reset();
    return line.take_error();
  }
  auto fail = [this](std::string why) -> Result<bool> {
    current_.reset();
    return invalid(std::move(why));
  };
  if (line->command == "deliver") {
    if (current_) return fail("deliver inside a request");
    DeliveryRequest r;
    auto id = required(*line, "id");
    auto file = required(*line, "queue_file");
    auto transport = required(*line, "transport");
    auto protocol = required(*line, "protocol");
    auto nexthop = required(*line, "nexthop");
    auto nrcpt = count_field(*line, "nrcpt", kDeliveryMaxRecipients);
    for (auto* f : {&id, &file, &transport, &protocol, &nexthop})
      if (!*f) return fail(f->error().text);
    if (!nrcpt) return fail(nrcpt.error().text);
    if (*nrcpt == 0) return fail("nrcpt=0");
    if (*protocol == "smtp")
      r.protocol = DeliveryProtocol::kSmtp;
    else if (*protocol == "lmtp")
      r.protocol = DeliveryProtocol::kLmtp;
    else
      return fail("protocol= is neither smtp nor lmtp");
    // The agent opens this path inside its chroot: never let it climb out.
    if (file->front() == '/' || file->find("..") != std::string::npos) return fail("queue_file= leaves the queue");
    r.queue_id = std::move(*id);
    r.queue_file = std::move(*file);
    r.transport = std::move(*transport);
    r.nexthop = std::move(*nexthop);
    r.recipients.reserve(*nrcpt);
    expected_ = *nrcpt;
    current_ = std::move(r);
    return false;
  }
  if (!current_) return fail("'" + line->command + "' outside a request");
  if (line->command == "rcpt") {
    if (current_->recipients.size() >= expected_) return fail("more rcpt lines than nrcpt");
    auto index = count_field(*line, "index", 1u << 30);
    if (!index) return fail(index.error().text);
    auto address = line->get("address");
    if (!address) return fail("address= missing");
    current_->recipients.push_back({*index, *address});
    return false;
  }
  if (line->command == "end") {
    if (current_->recipients.size() != expected_) return fail("fewer rcpt lines than nrcpt");
    return true;
  }
  return fail("unknown line '" + line->command + "' in a request");
}

DeliveryRequest DeliveryRequestReader::take() {
  DeliveryRequest r = std::move(*current_);
  current_.reset();
  expected_ = 0;
  return r;
}

std::string DeliveryResult::format() const {
  Line l;
  l.command = "result";
  l.add("index", std::to_string(index))
      .add("action", std::string(delivery_action_name(action)))
      .add("dsn", dsn)
      .add("relay", relay.empty() ? "none" : relay)
      .add("reason", reason);
  if (!reply.empty()) l.add("reply", reply);
  return l.format();
}

std::string DeliveryDone::format() const {
  Line l;
  l.command = "done";
  l.add("setup", seconds_text(setup)).add("xfer", seconds_text(xfer));
  if (!tls.empty()) l.add("tls", tls);
  return l.format();
}

Result<DeliveryAnswerLine> parse_delivery_answer(std::string_view text) {
  auto line = parse_line(text);
  if (!line) return line.take_error();
  DeliveryAnswerLine out;
  if (line->command == "done") {
    DeliveryDone d;
    auto setup = seconds_field(*line, "setup");
    if (!setup) return setup.take_error();
    auto xfer = seconds_field(*line, "xfer");
    if (!xfer) return xfer.take_error();
    d.setup = *setup;
    d.xfer = *xfer;
    if (const std::string* tls = line->get("tls")) d.tls = *tls;
    out.done = std::move(d);
    return out;
  }
  if (line->command != "result") return invalid("answer line is neither result nor done");
  DeliveryResult r;
  auto index = count_field(*line, "index", 1u << 30);
  if (!index) return index.take_error();
  r.index = *index;
  auto action = required(*line, "action");
  if (!action) return action.take_error();
  bool known = false;
  for (const auto& [a, name] : kActions) {
    if (*action == name) {
      r.action = a;
      known = true;
    }
  }
  if (!known) return invalid("action= unknown");
  auto dsn = required(*line, "dsn");
  if (!dsn) return dsn.take_error();
  if (!is_enhanced_status(*dsn)) return invalid("dsn= is not an enhanced status code");
  // The class must agree with the action: a "delivered" 5.x.x would make
  // qmgr and the DSN disagree about what happened.
  char want = r.action == DeliveryAction::kDeferred ? '4' : r.action == DeliveryAction::kBounced ? '5' : '2';
  if ((*dsn)[0] != want) return invalid("dsn= class does not match action=");
  r.dsn = std::move(*dsn);
  const std::string* relay = line->get("relay");
  r.relay = relay && !relay->empty() ? *relay : "none";
  if (const std::string* reason = line->get("reason")) r.reason = *reason;
  if (const std::string* reply = line->get("reply")) r.reply = *reply;
  out.result = std::move(r);
  return out;
}

}  // namespace tern::ipc
