// COPY, UID COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315), and MOVE, UID
// MOVE (RFC 6851).
//
// Three steps, each a job of one folder's queue (a Folder is only ever
// used by its own jobs):
//   1. source: each message's file is hard-linked into the target's new/
//      under a new base (same S= and W=), or copied when linking fails
//      (another file system: EXDEV); then the target's new/ is fsynced.
//      A link shares the bytes, which never change in a Maildir.
//   2. target: a sync gives the copies their UIDs, in the order of the
//      source UIDs (new bases sort in that order); the flags are set,
//      keywords mapped by name (each folder has its own letters).
//   3. MOVE only, source: the originals are expunged. The untagged
//      "OK [COPYUID ...]" goes before the EXPUNGE responses (RFC 6851 4.3).
// A failure after step 1 leaves copies in the target and the originals in
// place: a retry may duplicate, nothing is lost.
// COPY counts against the user's quota (imapd/quota.h): step 1 refuses it
// with NO [OVERQUOTA] before linking anything when the copies would not
// fit, and records what it added. MOVE stays inside the store: no change.

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/base/durable.h"
#include "common/base/log.h"
#include "common/imap/mailbox_name.h"
#include "common/imap/sequence_set.h"
#include "common/store/message_file.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

struct CopyItem {
  uint32_t src_uid = 0;
  std::string base;  // in the target
  uint8_t system = 0;
  std::vector<std::string> keywords;
  uint32_t dst_uid = 0;
};

struct CopyState {
  Status st;
  bool over_quota = false;
  std::string target_dir;
  std::vector<CopyItem> items;
  uint32_t dst_uidvalidity = 0;
};

// Zero-padded, so bases made in the same microsecond sort (and get their
// UIDs, uidlist.h) in the order they were made.
std::string padded(uint64_t n) {
  std::string s = std::to_string(n);
  return std::string(s.size() < 12 ? 12 - s.size() : 0, '0') + s;
}

// A base that no other writer makes: time, pid and a per-process counter,
// as store::MessageWriter names files, marked as a copy.
std::string new_base(uint64_t size, uint64_t rfc822_size) {
  static std::atomic<uint64_t> counter{0};
  static const std::string host = [] {
    char buf[256] = "";
    (void)::gethostname(buf, sizeof buf - 1);
    std::string h;
    for (const char* p = buf; *p; ++p) {
      if (*p == '/') h += "\\057";
      else if (*p == ':') h += "\\072";
      else if (*p == ',') h += "\\054";
      else h += *p;
    }
    return h.empty() ? std::string("localhost") : h;
  }();
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::to_string(ts.tv_sec) + ".M" + std::to_string(ts.tv_nsec / 1000) + "P" + std::to_string(::getpid()) +
         "Q" + padded(counter.fetch_add(1)) + "C." + host + ",S=" + std::to_string(size) +
         ",W=" + std::to_string(rfc822_size);
}

// Step 1, in the source folder's job. `quota`: COPY's (nullptr for MOVE).
void link_all(store::Folder& f, const std::string& dir, const std::vector<uint32_t>& uids, CopyState* s,
              const Quota* quota) {
  if (quota && quota->limited()) {
    uint64_t bytes = 0, n = 0;
    for (uint32_t uid : uids)
      if (const store::Message* m = f.find(uid)) {
        bytes += m->size;
        ++n;
      }
    auto fits = quota->fits(bytes, n);
    if (!fits) {
      s->st = fits.take_error();
      return;
    }
    if (!*fits) {
      s->over_quota = true;
      return;
    }
  }
  bool linked = false;
  int64_t added = 0;
  for (uint32_t uid : uids) {
    const store::Message* m = f.find(uid);
    if (!m) continue;
    CopyItem it;
    it.src_uid = uid;
    it.system = m->flags.system;
    it.keywords = f.keywords_of(*m);
    it.base = new_base(m->size, m->rfc822_size);
    std::string from = dir + "/" + m->file;
    std::string to = s->target_dir + "/new/" + it.base;
    if (::link(from.c_str(), to.c_str()) != 0) {
      int err = errno;
      if (err == ENOENT) continue;  // expunged by another process meanwhile
      auto data = read_file(from, size_t{1} << 30);
      if (!data) {
        s->st = data.take_error();
        return;
      }
      auto name = store::deliver(s->target_dir, *data);
      if (!name) {
        s->st = name.take_error();
        return;
      }
      it.base = *name;
    } else {
      linked = true;
    }
    added += static_cast<int64_t>(m->size);
    s->items.push_back(std::move(it));
  }
  if (quota) quota->record(added, static_cast<int64_t>(s->items.size()));
  if (linked) {
    if (Status st = fsync_dir(s->target_dir + "/new"); !st) s->st = st;
  }
}

// Step 2, in the target folder's job.
void number_all(store::Folder& f, CopyState* s) {
  if (s->st = f.sync(); !s->st) return;
  s->dst_uidvalidity = f.uidvalidity();
  std::vector<store::FlagChange> changes;
  for (auto& it : s->items) {
    auto uid = f.uid_of(it.base);
    if (!uid) {
      s->st = make_error(Errc::kTemporary, "copied message not found after sync: " + it.base);
      return;
    }
    it.dst_uid = *uid;
    store::FlagChange ch;
    ch.uid = *uid;
    ch.op = store::FlagOp::kAdd;
    ch.system = it.system;
    for (const auto& k : it.keywords)
      if (auto idx = f.keyword(k)) ch.keywords |= 1u << *idx;
    if (ch.system || ch.keywords) changes.push_back(ch);
  }
  if (!changes.empty()) {
    auto r = f.store(changes);
    if (!r) log::warning("COPY: flags in %s: %s", s->target_dir.c_str(), r.error().text.c_str());
  }
}

std::string uid_list(const std::vector<uint32_t>& uids) {
  // Both lists of COPYUID must pair up in order (RFC 4315 3), so ranges
  // are only folded where both sides run on.
  std::string out;
  for (size_t i = 0; i < uids.size();) {
    size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ":" + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace

void SessionImpl::cmd_copy(const Command& c, bool move) {
  if (!need_selected(c)) return;
  if (c.args.size() != 2 || !c.args[0].is_atom())
    return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto set = imap::parse_sequence_set(c.args[0].text);
  if (!set) return bad(c, "Error in IMAP command " + c.name + ": Invalid messageset");
  auto name = mailbox_arg(c, 1);
  if (!name) return;
  if (move && selected_->readonly) return no(c, "", "Mailbox is read-only.");
  std::vector<uint32_t> seqs;
  if (!resolve(c, *set, c.uid, &seqs)) return;
  auto dir = folder_dir(*name);
  if (!dir) return no(c, "TRYCREATE", "Mailbox doesn't exist: " + imap::sanitize_text(*name));
  struct stat st;
  if (::stat((*dir + "/new").c_str(), &st) != 0)
    return no(c, "TRYCREATE", "Mailbox doesn't exist: " + imap::sanitize_text(*name));
  std::vector<uint32_t> uids;
  for (uint32_t s : seqs)
    if (!selected_->view.at(s).expunged) uids.push_back(selected_->view.at(s).uid);
  if (uids.empty()) return done(c, Condition::kOk, move ? "No messages found." : "No messages found.");
  auto state = std::make_shared<CopyState>();
  state->target_dir = *dir;
  auto source = selected_->folder;
  auto target = imapd_.folders().get(*dir);
  auto fail = [this, c](const Status& s) {
    log::warning("imap(%s): %s: %s", user_.user.c_str(), c.name.c_str(), s.error().text.c_str());
    no(c, "SERVERBUG", "Internal error occurred. Refer to server log for more information.");
  };
  source->run(
      [uids, state, dir = source->dir(), quota = quota_, move](store::Folder& f) {
        link_all(f, dir, uids, state.get(), move ? nullptr : &quota);
      },
      guard([this, c, move, state, source, target, fail] {
        if (state->over_quota) return no(c, "OVERQUOTA", "Quota exceeded (mailbox for user is full)");
        if (!state->st) return fail(state->st);
        target->run(
            [state](store::Folder& f) {
              if (!state->items.empty()) number_all(f, state.get());
            },
            guard([this, c, move, state, source, fail] {
              if (!state->st) return fail(state->st);
              std::vector<uint32_t> src, dst;
              for (const auto& it : state->items) {
                src.push_back(it.src_uid);
                dst.push_back(it.dst_uid);
              }
              std::string code;
              if (!src.empty())
                code = "COPYUID " + std::to_string(state->dst_uidvalidity) + " " + uid_list(src) + " " + uid_list(dst);
              if (!move) return done(c, Condition::kOk, code, "Copy completed.");
              if (!code.empty()) write("* OK [" + code + "] Moved UIDs.\r\n");
              auto st = std::make_shared<Status>();
              source->run(
                  [st, src](store::Folder& f) {
                    if (src.empty()) return;
                    auto r = f.expunge(src);
                    if (!r) *st = r.take_error();
                  },
                  guard([this, c, st, fail] {
                    if (!*st) return fail(*st);
                    done(c, Condition::kOk, "Move completed.");
                  }));
            }));
      }));
}

}  // namespace tern::imapd
