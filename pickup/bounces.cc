// Undeliverable local submissions (bounces.h).

#include "pickup/bounces.h"

#include "common/base/log.h"

namespace tern::pickup {

Result<std::vector<Undeliverable>> split_undeliverable(const queue::AliasSettings& aliases,
                                                       std::vector<queue::Recipient>* recipients) {
  std::vector<Undeliverable> failed;
  std::vector<queue::Recipient> kept;
  for (auto& r : *recipients) {
    std::vector<std::string> warnings;
    auto expanded = queue::expand_aliases(aliases, {r}, &warnings);
    if (!expanded && expanded.error().code == Errc::kTemporary) return expanded.take_error();
    if (!expanded) {
      // RFC 3463: X.4.6 routing loop detected.
      failed.push_back({r, "5.4.6", expanded.error().text});
    } else if (expanded->empty()) {
      // X.3.5: the system is not configured to deliver there (Tern has no
      // local(8) to run a program or append to a file).
      std::string why = warnings.empty() ? "no deliverable recipient after alias expansion" : warnings.back();
      failed.push_back({r, "5.3.5", why});
    } else {
      kept.push_back(std::move(r));
    }
  }
  *recipients = std::move(kept);
  return failed;
}

Result<std::string> bounce(const Settings& settings, const queue::MessageSource& original,
                           const std::vector<Undeliverable>& failed, queue::QueueIdGenerator& ids, Clock& clock) {
  const bool double_bounce =
      queue::notice_target(*original.envelope, queue::DsnKind::kFailure) == queue::NoticeTarget::kDoubleBounce;
  queue::DsnRequest req;
  req.kind = queue::DsnKind::kFailure;
  req.original = original;
  const WallTime now = clock.wall_now();
  for (const auto& f : failed) {
    log::info("%s: to=<%s>, relay=none, delay=0, dsn=%s, status=bounced (%s)", original.queue_id.c_str(),
              f.recipient.address.c_str(), f.status.c_str(), f.reason.c_str());
    if (!double_bounce && !queue::wants_notice(f.recipient.notify, queue::DsnKind::kFailure)) continue;
    queue::DsnRecipientReport rep;
    rep.final_recipient = f.recipient.address;
    rep.orcpt = f.recipient.orcpt;
    rep.action = queue::DsnAction::kFailed;
    rep.status = f.status;
    rep.reason = f.reason;
    rep.last_attempt = now;
    req.recipients.push_back(std::move(rep));
  }
  if (req.recipients.empty()) return std::string();
  auto id = queue::queue_dsn(req, settings.dsn, settings.cleanup, ids, clock);
  if (!id && id.error().code == Errc::kNotFound) return std::string();
  if (id) log::info("%s: sender non-delivery notification: %s", original.queue_id.c_str(), id->c_str());
  return id;
}

}  // namespace tern::pickup
