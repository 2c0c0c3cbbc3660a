#include "qmgr/delay_warning.h"

#include <algorithm>

#include "common/queue/dsn.h"

namespace tern::qmgr {

bool delay_warning_due(const queue::Envelope& env, WallTime now, Duration delay_warning_time) {
  if (delay_warning_time <= Duration::zero() || env.sender.empty()) return false;
  if (now - env.arrival < delay_warning_time) return false;
  return std::none_of(env.recipients.begin(), env.recipients.end(),
                      [](const queue::Recipient& r) { return r.status == queue::RcptStatus::kDelayed; });
}

Result<std::string> queue_delay_warning(const queue::QfileReader& reader, const std::vector<DeferReason>& deferred,
                                        const Settings& settings, Clock& clock, std::vector<size_t>& marked) {
  const auto& env = reader.envelope();
  queue::DsnRequest req;
  req.kind = queue::DsnKind::kDelay;
  req.original = queue::MessageSource::of(reader);
  req.will_retry_until = env.arrival + settings.backoff.queue_lifetime;
  std::vector<size_t> told;
  for (const auto& d : deferred) {
    if (d.index >= env.recipients.size()) continue;
    const auto& rc = env.recipients[d.index];
    if (rc.status != queue::RcptStatus::kPending || !queue::wants_notice(rc.notify, queue::DsnKind::kDelay)) continue;
    queue::DsnRecipientReport rep;
    rep.final_recipient = rc.address;
    rep.orcpt = rc.orcpt;
    rep.action = queue::DsnAction::kDelayed;
    rep.status = d.status.empty() ? "4.0.0" : d.status;
    rep.remote_mta = d.relay;
    rep.reason = d.reason;
    rep.diagnostic = d.reply;
    rep.last_attempt = d.time;
    req.recipients.push_back(std::move(rep));
    told.push_back(d.index);
  }
  if (req.recipients.empty()) return std::string();
  auto id = queue::queue_dsn(req, dsn_settings(settings), settings.cleanup, notice_ids(clock), clock);
  if (!id) {
    if (id.error().code == Errc::kNotFound) return std::string();
    return id;
  }
  marked = std::move(told);
  return id;
}

}  // namespace tern::qmgr
