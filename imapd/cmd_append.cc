// APPEND (RFC 3501 6.3.11) with APPENDUID (RFC 4315).
//
// The message literal never sits in memory: as soon as the reader
// announces it, the session opens a file in the target folder's tmp/
// (store::MessageWriter, which stores CRLF line ends) and the octets go
// there as they arrive (AppendSink). When the command is complete, on the
// worker pool, in the folder's job queue: fsync, rename into new/, fsync
// of new/ (MessageWriter::commit; with flags straight into cur/ as
// "<name>:2,<flags>", as Dovecot saves it), the INTERNALDATE as the file's
// mtime (as Dovecot's Maildir keeps it), and its UID and index record
// (store::Folder::add, no scan of the folder). Only then is the client
// told OK [APPENDUID uidvalidity uid]. Before the commit, the
// user's quota (imapd/quota.h): NO [OVERQUOTA] when the message does not
// fit, and the tmp/ file goes.

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/base/log.h"
#include "common/imap/date.h"
#include "common/imap/mailbox_name.h"
#include "common/imap/store_args.h"
#include "common/store/flags.h"
#include "common/store/message_file.h"
#include "imapd/session_impl.h"

namespace tern::imapd {

std::unique_ptr<AppendSink> AppendSink::create(const std::string& folder_dir, std::string* error) {
  auto w = store::MessageWriter::create(folder_dir);
  if (!w) {
    *error = w.error().code == Errc::kSystem && w.error().err == ENOENT ? "Mailbox doesn't exist."
                                                                          : "Cannot write into the mailbox.";
    if (!(w.error().code == Errc::kSystem && w.error().err == ENOENT))
      log::warning("APPEND: %s", w.error().text.c_str());
    return nullptr;
  }
  auto s = std::make_unique<AppendSink>();
  s->dir_ = folder_dir;
  s->writer_.emplace(std::move(*w));
  return s;
}

// Page-cache writes on the loop: the fsync that waits for the disk runs
// on the worker pool at the end.
void AppendSink::write(std::string_view bytes) {
  if (bytes.find('\0') != std::string_view::npos) nul_ = true;
  if (status_ && writer_) status_ = writer_->write(bytes);
}

void SessionImpl::cmd_append(const Command& c) {
  std::unique_ptr<AppendSink> sink = std::move(append_sink_);
  // mailbox [flag-list] [date-time] literal
  if (c.args.size() < 2 || c.args.size() > 4 || c.args.back().kind != imap::ValueKind::kLiteral)
    return bad(c, "Error in IMAP command APPEND: Invalid arguments.");
  auto name = mailbox_arg(c, 0);
  if (!name) return;
  imap::FlagSet flags;
  std::optional<int64_t> date;
  for (size_t i = 1; i + 1 < c.args.size(); ++i) {
    const auto& a = c.args[i];
    if (a.is_list() && i == 1) {
      auto f = imap::parse_flag_list(a);
      if (!f) return bad(c, "Error in IMAP command APPEND: " + imap::sanitize_text(f.error().text));
      flags = std::move(*f);
    } else if (a.kind == imap::ValueKind::kQuoted && !date) {
      auto d = imap::parse_date_time(a.text);
      if (!d) return bad(c, "Error in IMAP command APPEND: Invalid date-time.");
      date = d->time;
    } else {
      return bad(c, "Error in IMAP command APPEND: Invalid arguments.");
    }
  }
  if (!sink || !c.args.back().streamed) {
    // A literal held in memory (a client that sent the message inside a
    // list, say): not an APPEND we understand.
    return bad(c, "Error in IMAP command APPEND: Invalid arguments.");
  }
  if (sink->has_nul()) return no(c, "", "NUL characters are not allowed in messages.");
  if (!sink->status()) {
    log::warning("imap(%s): APPEND to %s: %s", user_.user.c_str(), name->c_str(), sink->status().error().text.c_str());
    return no(c, "SERVERBUG", "Internal error occurred. Refer to server log for more information.");
  }
  if (c.args.back().literal_size == 0) return no(c, "", "Can't save a zero byte message.");
  auto folder = imapd_.folders().get(sink->dir());
  struct Out {
    Status st;
    bool over_quota = false;
    uint32_t uidvalidity = 0;
    uint32_t uid = 0;
  };
  auto out = std::make_shared<Out>();
  std::shared_ptr<AppendSink> shared(std::move(sink));
  folder->run(
      [shared, out, flags, date, quota = quota_, literal = c.args.back().literal_size](store::Folder& f) {
        // The literal's size (bare LFs, which the file stores as CRLF, aside).
        uint64_t bytes = std::max<uint64_t>(literal, shared->writer()->bytes());
        if (quota.limited()) {
          auto fits = quota.fits(bytes, 1);
          if (!fits) {
            out->st = fits.take_error();
            return;
          }
          if (!*fits) {
            // The writer, which this job holds, removes the tmp/ file; the
            // pool destroys the job before the NO can go (worker_pool.h).
            out->over_quota = true;
            return;
          }
        }
        // Keywords get their letters (durably named in dovecot-keywords)
        // before the file carries them; a message with flags goes straight
        // into cur/ with them, as Dovecot saves it.
        store::MessageFlags mf;
        mf.system = flags.system;
        for (const auto& k : flags.keywords) {
          auto idx = f.keyword(k);
          if (idx) mf.keywords |= 1u << *idx;  // past 26 keywords: stored without it
        }
        const bool into_cur = mf.system != 0 || mf.keywords != 0;
        auto name = into_cur ? shared->writer()->commit_into_cur(store::format_flags(mf)) : shared->writer()->commit();
        if (!name) {
          out->st = name.take_error();
          return;
        }
        const std::string file = (into_cur ? "cur/" : "new/") + *name;
        // Our own event, not a change from elsewhere (folder_cache.h).
        f.own_change(into_cur ? store::OwnChange::Where::kCur : store::OwnChange::Where::kNew,
                     store::OwnChange::Kind::kAdded, *name);
        quota.record(static_cast<int64_t>(bytes), 1);
        if (date) {
          std::string path = shared->dir() + "/" + file;
          struct timespec ts[2] = {{*date, 0}, {*date, 0}};
          (void)::utimensat(AT_FDCWD, path.c_str(), ts, 0);
        }
        // Its UID and index record, without a scan of the folder.
        if (out->st = f.add(std::span<const std::string>(&file, 1)); !out->st) return;
        auto uid = f.uid_of(store::parse_message_name(*name)->base);
        if (!uid) {
          out->st = make_error(Errc::kTemporary, "appended message not found after sync");
          return;
        }
        out->uid = *uid;
        out->uidvalidity = f.uidvalidity();
      },
      guard([this, c, out] {
        if (out->over_quota) return no(c, "OVERQUOTA", "Quota exceeded (mailbox for user is full)");
        if (!out->st) {
          log::warning("imap(%s): APPEND: %s", user_.user.c_str(), out->st.error().text.c_str());
          return no(c, "SERVERBUG", "Internal error occurred. Refer to server log for more information.");
        }
        done(c, Condition::kOk,
             "APPENDUID " + std::to_string(out->uidvalidity) + " " + std::to_string(out->uid), "Append completed.");
      }));
}

}  // namespace tern::imapd
