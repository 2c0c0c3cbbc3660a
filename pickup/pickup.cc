// pickup's work (pickup.h).

#include "pickup/pickup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/base/durable.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/mail/address_list.h"
#include "common/mail/header.h"
#include "common/queue/maildrop.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"
#include "pickup/bounces.h"

namespace tern::pickup {
namespace {

using queue::Queue;

// terndrop's name for the file it is writing (cli/terndrop); one this old
// belongs to a terndrop that was killed (SIGKILL leaves no time to remove it).
constexpr std::string_view kUnfinished = ".tmp";
constexpr std::chrono::hours kUnfinishedAge{24};

Outcome to_corrupt(const Settings& s, const std::string& id, const std::string& who, const std::string& reason) {
  auto st = queue::move(s.queue_dir, id, Queue::kMaildrop, Queue::kCorrupt);
  if (!st) {
    if (st.error().code == Errc::kNotFound) return Outcome::kGone;
    log::error("maildrop/%s: %srefused (%s), and cannot move it to corrupt/: %s", id.c_str(), who.c_str(),
               reason.c_str(), st.error().text.c_str());
    return Outcome::kRetry;
  }
  log::warning("maildrop/%s: %srefused (%s): moved to corrupt/", id.c_str(), who.c_str(), reason.c_str());
  return Outcome::kCorrupt;
}

// The maildrop file is in the queue now: remove it, durably, so a restart
// does not queue it twice.
void remove_maildrop_file(const Settings& s, const std::string& id, const std::string& queue_id) {
  std::string path = queue::path_of(s.queue_dir, Queue::kMaildrop, id);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) {
    log::error("%s: queued, but cannot remove maildrop/%s (it will be queued again): %s", queue_id.c_str(),
               id.c_str(), std::strerror(errno));
    return;
  }
  if (auto st = fsync_dir(s.queue_dir + "/" + std::string(queue::queue_name(Queue::kMaildrop))); !st)
    log::warning("%s: fsync of maildrop/: %s", queue_id.c_str(), st.error().text.c_str());
}

// Streams the message from the maildrop file through the cleanup step and
// makes the queue file durable. Returns the cleanup fault when refused.
Status copy_and_commit(queue::Cleanup& cleanup, const queue::QfileReader& in) {
  std::string buf(queue::kMaxChunk, '\0');
  for (uint64_t pos = 0; pos < in.message_size();) {
    auto got = in.read_message(pos, buf.data(), buf.size());
    if (!got) return got.take_error();
    if (*got == 0) break;
    if (auto st = cleanup.append(std::string_view(buf.data(), *got)); !st) return st;
    pos += *got;
  }
  if (auto st = cleanup.finish(); !st) return st;
  return cleanup.commit();
}

// The cleanup step and the durable queue file for env's recipients (each
// deliverable on its own). Returns the queue ID; "" when the cleanup step
// refused the message for good, its recipients then added to *failed with
// the reason; an error when a later try may work.
Result<std::string> queue_message(const Settings& s, queue::Envelope env, const queue::QfileReader& in, long uid,
                                  queue::QueueIdGenerator& ids, Clock& clock, std::vector<Undeliverable>* failed) {
  const std::vector<queue::Recipient> given = env.recipients;
  auto refuse_all = [&](const char* status, const std::string& reason) {
    for (const auto& r : given) failed->push_back({r, status, reason});
    return std::string();
  };
  auto cleanup = queue::Cleanup::begin(s.cleanup, std::move(env), std::string(), ids, clock);
  if (!cleanup) {
    const Error& e = cleanup.error();
    // Together the recipients may still expand past kMaxAliasResults.
    if (e.code == Errc::kLimit) return refuse_all("5.4.6", e.text);
    if (e.code == Errc::kInvalid) return refuse_all("5.3.5", e.text);
    return cleanup.take_error();
  }
  queue::Cleanup& c = **cleanup;
  log::info("%s: uid=%ld from=<%s>", c.queue_id().c_str(), uid, in.envelope().sender.c_str());
  WallTime now = clock.wall_now();
  std::string received =
      mail::local_received_header(s.myhostname, s.mail_name, uid, c.queue_id(), now, mail::TimeZone::local(now));
  Status st = c.append(received + "\r\n");
  if (st) st = copy_and_commit(c, in);
  if (!st) {
    queue::CleanupFault fault = c.fault();
    c.abort();
    // RFC 3463: X.3.4 message too big for system; X.4.6 routing loop.
    if (fault == queue::CleanupFault::kTooBig || fault == queue::CleanupFault::kHeaderTooLarge)
      return refuse_all("5.3.4", st.error().text);
    if (fault == queue::CleanupFault::kTooManyHops) return refuse_all("5.4.6", st.error().text);
    return make_error(st.error().code, c.queue_id() + ": " + st.error().text);
  }
  if (!c.message_id().empty()) log::info("%s: message-id=%s", c.queue_id().c_str(), c.message_id().c_str());
  return c.queue_id();
}

}  // namespace

Outcome pickup_file(const Settings& s, const std::string& id, queue::QueueIdGenerator& ids, Clock& clock) {
  // terndrop writes at most kMaxSubmissionRecipients recipients and two
  // attributes: a file with more is refused (as corrupt) without holding it.
  queue::ReaderLimits limits{.max_recipients = queue::kMaxSubmissionRecipients, .max_attributes = 8};
  auto reader =
      queue::QfileReader::open(queue::path_of(s.queue_dir, Queue::kMaildrop, id), queue::OpenMode::kReadOnly, limits);
  if (!reader) {
    const Error& e = reader.error();
    if (e.code == Errc::kSystem && e.err == ENOENT) return Outcome::kGone;
    if (e.code == Errc::kSystem) {
      log::warning("maildrop/%s: %s", id.c_str(), e.text.c_str());
      return Outcome::kRetry;
    }
    return to_corrupt(s, id, "", e.text);
  }
  const queue::Envelope& in = reader->envelope();
  std::string who = strf("uid=%lu: ", static_cast<unsigned long>(reader->owner()));
  if (auto st = queue::check_maildrop(in, reader->owner()); !st) return to_corrupt(s, id, who, st.error().text);
  const long uid = static_cast<long>(reader->owner());
  const std::string* login = in.attribute(queue::attr::kLogin);
  if (auto st = queue::check_local_sender(s.senders, login ? *login : "", uid, in.sender); !st) {
    if (st.error().code == Errc::kTemporary) {
      log::warning("maildrop/%s: %s", id.c_str(), st.error().text.c_str());
      return Outcome::kRetry;
    }
    return to_corrupt(s, id, who, st.error().text);
  }

  queue::Envelope env;
  env.arrival = in.arrival;
  env.sender = mail::qualify(in.sender, s.myorigin);
  env.ret = in.ret;
  env.envid = in.envid;
  env.attributes[std::string(queue::attr::kUid)] = std::to_string(uid);
  if (login) env.attributes[std::string(queue::attr::kLogin)] = *login;
  for (const auto& r : in.recipients) {
    queue::Recipient out;
    out.address = mail::qualify(r.address, s.myorigin);
    out.orcpt = r.orcpt;
    out.notify = r.notify;
    env.recipients.push_back(std::move(out));
  }
  std::vector<Undeliverable> failed;
  if (auto split = split_undeliverable(s.aliases, &env.recipients); !split) {
    log::warning("maildrop/%s: %s", id.c_str(), split.error().text.c_str());
    return Outcome::kRetry;
  } else {
    failed = std::move(*split);
  }
  // The notice speaks of the message as it was queued: the sender qualified.
  queue::Envelope original = in;
  original.sender = env.sender;
  Result<std::string> queued = std::string();
  if (!env.recipients.empty()) queued = queue_message(s, std::move(env), *reader, uid, ids, clock, &failed);
  if (!queued) {
    log::warning("maildrop/%s: %s", id.c_str(), queued.error().text.c_str());
    return Outcome::kRetry;
  }
  if (!failed.empty()) {
    queue::MessageSource source = queue::MessageSource::of(*reader);
    source.envelope = &original;
    if (auto notice = bounce(s, source, failed, ids, clock); !notice) {
      // Nothing queued yet: all of it again at the next scan. Otherwise the
      // deliverable part is queued, and the file is kept for the
      // administrator rather than queued twice.
      if (queued->empty()) {
        log::warning("maildrop/%s: cannot queue the failure notice: %s", id.c_str(), notice.error().text.c_str());
        return Outcome::kRetry;
      }
      return to_corrupt(s, id, who, *queued + " queued, but the failure notice was not: " + notice.error().text);
    }
  }
  remove_maildrop_file(s, id, queued->empty() ? id : *queued);
  return queued->empty() ? Outcome::kBounced : Outcome::kQueued;
}

void sweep_unfinished(const Settings& s, Clock& clock) {
  std::string dir = s.queue_dir + "/" + std::string(queue::queue_name(Queue::kMaildrop));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.ends_with(kUnfinished)) continue;
    std::string id(name.substr(0, name.size() - kUnfinished.size()));
    struct stat st;
    if (!queue::is_valid_queue_id(id) || ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (now - st.st_mtime > std::chrono::seconds(kUnfinishedAge).count()) stale.push_back(std::move(id));
  }
  ::closedir(d);
  for (const auto& id : stale) {
    std::string from = dir + "/" + id + std::string(kUnfinished);
    std::string to = queue::path_of(s.queue_dir, Queue::kCorrupt, id);
    if (auto st = durable_rename(from, to); !st) {
      log::error("maildrop/%s%s: cannot move it to corrupt/: %s", id.c_str(), std::string(kUnfinished).c_str(),
                 st.error().text.c_str());
      continue;
    }
    log::warning("maildrop/%s%s: unfinished for more than a day (terndrop was killed?): moved to corrupt/",
                 id.c_str(), std::string(kUnfinished).c_str());
  }
}

ScanCounts pickup_all(const Settings& s, queue::QueueIdGenerator& ids, Clock& clock) {
  ScanCounts counts;
  sweep_unfinished(s, clock);
  auto names = queue::scan(s.queue_dir, Queue::kMaildrop);
  if (!names) {
    log::warning("scan of maildrop/: %s", names.error().text.c_str());
    return counts;
  }
  for (const auto& id : *names) {
    switch (pickup_file(s, id, ids, clock)) {
      case Outcome::kQueued: counts.queued++; break;
      case Outcome::kBounced: counts.bounced++; break;
      case Outcome::kCorrupt: counts.corrupt++; break;
      case Outcome::kRetry: counts.retry++; break;
      case Outcome::kGone: break;
    }
  }
  return counts;
}

void Scanner::request_scan() {
  if (running_) {
    again_ = true;
    return;
  }
  running_ = true;
  pool_.submit([this] { (void)pickup_all(settings_, ids_, clock_); },
               [this] {
                 running_ = false;
                 if (again_) {
                   again_ = false;
                   request_scan();
                 }
               });
}

}  // namespace tern::pickup
