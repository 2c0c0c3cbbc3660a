// Queue file vocabulary (qfile.h): status words, NOTIFY, BODY and RET names.

#include "common/queue/qfile.h"

#include "common/base/strings.h"

namespace tern::queue {
namespace {

struct StatusName {
  RcptStatus status;
  std::string_view name;
};
constexpr StatusName kStatusNames[] = {
    {RcptStatus::kPending, "pending"},     {RcptStatus::kDelayed, "delayed"}, {RcptStatus::kDelivered, "delivered"},
    {RcptStatus::kRelayed, "relayed"},     {RcptStatus::kBounced, "bounced"},
};
static_assert(sizeof("delivered") - 1 <= kStatusWidth);

struct NotifyName {
  unsigned flag;
  std::string_view name;
};
constexpr NotifyName kNotifyNames[] = {
    {kNotifyNever, "NEVER"}, {kNotifySuccess, "SUCCESS"}, {kNotifyFailure, "FAILURE"}, {kNotifyDelay, "DELAY"}};

}  // namespace

std::string_view status_name(RcptStatus status) {
  for (const auto& s : kStatusNames)
    if (s.status == status) return s.name;
  return "?";
}

std::optional<RcptStatus> parse_status(std::string_view word) {
  for (const auto& s : kStatusNames)
    if (s.name == word) return s.status;
  return std::nullopt;
}

bool is_final(RcptStatus status) {
  return status == RcptStatus::kDelivered || status == RcptStatus::kRelayed || status == RcptStatus::kBounced;
}

std::string format_notify(unsigned flags) {
  std::string out;
  for (const auto& n : kNotifyNames) {
    if (!(flags & n.flag)) continue;
    if (!out.empty()) out += ',';
    out += n.name;
  }
  return out;
}

Result<unsigned> parse_notify(std::string_view text) {
  if (text.empty()) return invalid("empty NOTIFY");
  unsigned flags = 0;
  for (std::string_view word : split(text, ',')) {
    unsigned flag = 0;
    for (const auto& n : kNotifyNames)
      if (equals_nocase(word, n.name)) flag = n.flag;
    if (flag == 0) return invalid("bad NOTIFY keyword \"" + std::string(word) + "\"");
    if (flags & flag) return invalid("NOTIFY keyword repeated");
    flags |= flag;
  }
  if ((flags & kNotifyNever) && flags != kNotifyNever) return invalid("NOTIFY=NEVER combined with another keyword");
  return flags;
}

std::string_view body_type_name(BodyType body) {
  switch (body) {
    case BodyType::k7Bit: return "7BIT";
    case BodyType::k8BitMime: return "8BITMIME";
    case BodyType::kBinaryMime: return "BINARYMIME";
    case BodyType::kUnspecified: break;
  }
  return "";
}

std::string_view dsn_ret_name(DsnRet ret) {
  switch (ret) {
    case DsnRet::kFull: return "FULL";
    case DsnRet::kHdrs: return "HDRS";
    case DsnRet::kUnspecified: break;
  }
  return "";
}

const std::string* Envelope::attribute(std::string_view name) const {
  auto it = attributes.find(name);
  return it == attributes.end() ? nullptr : &it->second;
}

bool is_attribute_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == record::kPad) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace tern::queue
