#pragma once
// imapd's side of the user's Maildir++ quota, the one lmtp-deliver enforces
// (common/store/maildirsize.h; the limit from the userdb's quota_rule
// fields, else main.cf quota_rule). As Dovecot's quota plugin does:
//   - APPEND and COPY are refused with NO [OVERQUOTA] when the store would
//     pass the limit (RFC 5530 3);
//   - APPEND, COPY, EXPUNGE and CLOSE record their deltas in maildirsize,
//     so the usage lmtp-deliver reads stays right when a user deletes mail;
//   - MOVE within the store changes nothing; DELETE of a folder removes
//     maildirsize, so the next reader recounts the store.
// With no quota nothing is read or written (lmtp-deliver does the same).
// Every member but the constructor does disk I/O: worker pool only.

#include <span>
#include <string>

#include "common/base/result.h"
#include "common/store/folder.h"
#include "common/store/maildirsize.h"

namespace tern::imapd {

class Quota {
 public:
  Quota() = default;
  // A rule that does not parse leaves the quota broken: APPEND and COPY
  // are refused until it is fixed (never served without the limit).
  Quota(std::string maildir, Result<store::QuotaLimit> limit);

  bool limited() const { return broken_ || !limit_.unlimited(); }
  // Would `messages` more messages of `bytes` in all fit? Errors: a broken
  // rule (Errc::kInvalid), or the maildirsize read.
  Result<bool> fits(uint64_t bytes, uint64_t messages) const;
  // Records added (positive) or removed (negative) mail; failures are
  // logged, never fatal (the next recalculation corrects the sum).
  void record(int64_t bytes, int64_t messages) const;
  // The store changed in a way no delta describes (a folder deleted).
  void recount() const;
  // The usage now (maildirsize, recounted when it must be), for GETQUOTA.
  Result<store::QuotaUsage> usage() const;
  const store::QuotaLimit& limit() const { return limit_; }

  // Folder::expunge that records what it removed.
  Result<store::StoreResult> expunge(store::Folder& f, std::span<const uint32_t> uids) const;

 private:
  std::string maildir_;
  store::QuotaLimit limit_;
  bool broken_ = false;
  std::string why_;
};

}  // namespace tern::imapd
