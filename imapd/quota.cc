#include "imapd/quota.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "common/base/log.h"

namespace tern::imapd {

Quota::Quota(std::string maildir, Result<store::QuotaLimit> limit) : maildir_(std::move(maildir)) {
  if (limit) {
    limit_ = *limit;
  } else {
    broken_ = true;
    why_ = limit.error().text;
  }
}

Result<bool> Quota::fits(uint64_t bytes, uint64_t messages) const {
  if (broken_) return invalid("quota rule: " + why_);
  if (limit_.unlimited() || messages == 0) return true;
  auto v = store::check_quota(maildir_, limit_, bytes, messages);
  if (!v) return v.take_error();
  return *v == store::QuotaVerdict::kOk;
}

void Quota::record(int64_t bytes, int64_t messages) const {
  if (!limited() || (bytes == 0 && messages == 0)) return;
  if (Status st = store::add_usage(maildir_, bytes, messages); !st)
    log::warning("quota of %s: %s", maildir_.c_str(), st.error().text.c_str());
}

Result<store::QuotaUsage> Quota::usage() const {
  if (broken_) return invalid("quota rule: " + why_);
  return store::read_usage(maildir_, limit_);
}

void Quota::recount() const {
  if (!limited()) return;
  std::string path = maildir_ + "/maildirsize";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    log::warning("quota: cannot remove %s: %s", path.c_str(), std::strerror(errno));
}

Result<store::StoreResult> Quota::expunge(store::Folder& f, std::span<const uint32_t> uids) const {
  if (!limited()) return f.expunge(uids);
  std::map<uint32_t, uint64_t> sizes;
  for (uint32_t uid : uids)
    if (const store::Message* m = f.find(uid)) sizes[uid] = m->size;
  auto r = f.expunge(uids);
  if (!r) return r;
  int64_t bytes = 0, n = 0;
  for (uint32_t uid : r->changed) {
    auto it = sizes.find(uid);
    if (it == sizes.end()) continue;
    bytes += static_cast<int64_t>(it->second);
    ++n;
  }
  record(-bytes, -n);
  return r;
}

}  // namespace tern::imapd
