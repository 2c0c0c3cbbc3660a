#include "qmgr/notices.h"


#include "common/base/log.h"
#include "common/queue/defer_log.h"
#include "common/queue/dsn.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"


namespace tern::qmgr {

bool wants_notice(const queue::Envelope& env, const queue::Recipient& rcpt, NoticeKind kind) {
  // The policy is dsn.h's; a failed message from <> goes to the
  // double-bounce recipient whatever its recipients asked.
  auto k = kind == NoticeKind::kFailure ? queue::DsnKind::kFailure : queue::DsnKind::kSuccess;
  if (queue::notice_target(env, k) == queue::NoticeTarget::kDoubleBounce) return true;
  return queue::wants_notice(rcpt.notify, k);
}

queue::QueueIdGenerator& notice_ids(Clock& clock) {
  // One generator for every notice of the process, so two never share an ID.
  static queue::QueueIdGenerator gen(clock);
  return gen;
}

queue::DsnSettings dsn_settings(const Settings& settings) {
  queue::DsnSettings ds;
  ds.myhostname = settings.myhostname;
  ds.bounce_size_limit = settings.bounce_size_limit;
  ds.myorigin = settings.myorigin;
  ds.double_bounce_recipient = settings.double_bounce_recipient;
  return ds;
}

Result<std::string> queue_notice(NoticeKind kind, const queue::QfileReader& reader,
                                 const std::vector<NoticeRecipient>& recipients, const Settings& settings,
                                 Clock& clock) {
  const auto& env = reader.envelope();
  queue::DsnRequest req;
  req.kind = kind == NoticeKind::kFailure ? queue::DsnKind::kFailure : queue::DsnKind::kSuccess;
  req.original = queue::MessageSource::of(reader);
  for (const auto& r : recipients) {
    const auto& rc = env.recipients.at(r.index);
    queue::DsnRecipientReport rep;
    rep.final_recipient = rc.address;
    rep.orcpt = rc.orcpt;
    rep.action = kind == NoticeKind::kFailure ? queue::DsnAction::kFailed
                 : r.relayed                  ? queue::DsnAction::kRelayed
                                              : queue::DsnAction::kDelivered;
    rep.status = r.status;
    rep.remote_mta = r.relay;
    rep.reason = r.reason;
    rep.diagnostic = r.reply;
    rep.last_attempt = r.last_attempt;
    req.recipients.push_back(std::move(rep));
  }
  if (req.recipients.empty()) return std::string();
  auto id = queue::queue_dsn(req, dsn_settings(settings), settings.cleanup, notice_ids(clock), clock);
  if (!id && id.error().code == Errc::kNotFound) return std::string();
  return id;
}


Status write_defer_log(const std::string& queue_dir, const std::string& id, const std::vector<DeferReason>& reasons) {
  std::vector<queue::DeferRecord> records;
  for (const auto& r : reasons) {
    queue::DeferRecord d;
    d.index = r.index;
    d.address = r.address;
    d.status = r.status;
    d.relay = r.relay;
    d.reason = r.reason;
    d.reply = r.reply;
    d.time = r.time;
    records.push_back(std::move(d));
  }
  if (records.empty()) return {};
  return queue::append_defer_records(queue_dir, id, records);
}

Status remove_defer_log(const std::string& queue_dir, const std::string& id) {
  return queue::remove_defer_log(queue_dir, id);
}

}  // namespace tern::qmgr
