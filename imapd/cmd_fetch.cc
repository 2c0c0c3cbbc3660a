// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8).
//
// The answer is built on the worker pool, in the folder's job queue (the
// Folder is the job's alone), a job at a time: each job produces at most
// kJobBytes of output (or kJobMessages messages), which is written to the
// client before the next job starts, and the next one waits while the
// client has not read the last (session.cc kMaxPendingOutput). So a FETCH
// costs a session bounded memory whatever the folder or message size:
// small messages go many to a job; a big one spans jobs, its literal sent
// in kJobBytes chunks. The state that carries over from one job to the
// next (FetchState) is touched only by the command's jobs, which the
// folder's queue runs one at a time.
//
// Message bytes are never copied whole: the file is mapped read-only
// (store/mapped_message.h), its MIME tree parsed on the mapping, and a
// literal is read from it piece by piece (imap/fetch_section.h
// SectionData); <partial> fetches touch only their range. The mapping's
// pages are dropped from the resident set during the parse and after each
// job of a big message, so a FETCH BODY[] of a 50 MB message raises
// imapd's peak RSS by a few hundred KB, not 50 MB.
//
// ENVELOPE, BODYSTRUCTURE and BODY come from the folder's cache
// (store::Folder::cached) when there; otherwise the message is parsed
// once (common/mail/mime.h) and what was computed is cached at the end of
// the job. FLAGS, UID, INTERNALDATE and RFC822.SIZE need no file.
//
// BODY[...] (not PEEK), RFC822 and RFC822.TEXT set \Seen in a read-write
// mailbox (RFC 3501 6.4.5), in one store() per kJobMessages messages
// before their answers are built; the FETCH response then carries FLAGS
// too, as Dovecot does, so the client learns of it.
//
// Expunged messages (RFC 3501 7.4.1, RFC 5530 EXPUNGEISSUED): a message
// the client still knows but another session expunged (marked so in the
// view, or gone from the folder when its job runs) gets no FETCH
// response; the others are answered, then the command ends with
// "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.",
// as Dovecot does, and the EXPUNGE comes with a later command. A file
// missing when opened may only have been renamed (a flag change by another
// process): the folder is synced once and the file looked up again before
// the message counts as expunged.

#include <algorithm>

#include "common/base/log.h"
#include "common/imap/bodystructure.h"
#include "common/imap/date.h"
#include "common/imap/envelope.h"
#include "common/imap/fetch_items.h"
#include "common/imap/fetch_section.h"
#include "common/mail/mime.h"
#include "common/store/mapped_message.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

constexpr size_t kJobMessages = 256;
// Output of one job: also the size of a big literal's chunks.
constexpr size_t kJobBytes = 256 * 1024;
// A message file larger than this is not served (imap_max_literal is the
// largest APPEND; deliveries are bounded by message_size_limit).
constexpr size_t kMaxMessageFile = size_t{1} << 30;
// A mapping this large has its pages dropped as it is read (see above);
// smaller ones are simply unmapped at the end of their message.
constexpr size_t kReleaseAbove = 1 << 20;

constexpr std::string_view kExpungeIssued = "Some of the requested messages no longer exist.";

struct FetchRequest {
  uint32_t seq = 0;
  uint32_t uid = 0;
  bool recent = false;
};

struct FetchPlan {
  std::string dir;  // the folder's directory
  std::vector<imap::FetchItem> items;
  bool uid_command = false;
  bool readonly = false;
  bool sets_seen = false;
  bool needs_tree = false;    // a section or RFC822.*
  bool needs_cached = false;  // ENVELOPE, BODY, BODYSTRUCTURE
  bool uid_listed = false;    // UID among the items
  bool flags_listed = false;  // FLAGS among the items
  mail::MimeLimits mime;      // mime_nesting_limit
};

struct FlagUpdate {
  uint32_t uid = 0;
  uint8_t system = 0;
  uint32_t keywords = 0;
};

// One message's FETCH response, as text and literals in order: each
// piece's text, then its literal's bytes (the "{n}\r\n" ends the text).
struct Piece {
  std::string text;
  std::optional<imap::SectionData> literal;
};

struct MessageOut {
  std::vector<Piece> pieces;
  size_t at = 0;  // the piece being sent
  store::MappedMessage file;
};

// What carries over from one job of a FETCH to the next.
struct FetchState {
  size_t next = 0;        // the first request not started
  size_t seen_until = 0;  // \Seen was set for the requests before this
  std::vector<uint32_t> newly_seen;  // UIDs it set, sorted
  std::optional<MessageOut> current;  // a response that did not fit in one job
  bool expunged = false;  // a requested message no longer exists
  bool done = false;      // every response was produced
};

struct JobResult {
  std::string out;
  std::vector<FlagUpdate> flags;  // \Seen set by this job
};

struct FetchJob {
  FetchPlan plan;
  std::vector<FetchRequest> reqs;
  FetchState state;
};

std::optional<store::CacheField> cache_field(imap::FetchAttr a) {
  switch (a) {
    case imap::FetchAttr::kEnvelope: return store::CacheField::kEnvelope;
    case imap::FetchAttr::kBodyStructure: return store::CacheField::kBodyStructure;
    case imap::FetchAttr::kBody: return store::CacheField::kBody;
    default: return std::nullopt;
  }
}

// The section an RFC822.* item stands for.
imap::Section rfc822_section(imap::FetchAttr a) {
  imap::Section s;
  if (a == imap::FetchAttr::kRfc822Header) s.text = imap::SectionText::kHeader;
  if (a == imap::FetchAttr::kRfc822Text) s.text = imap::SectionText::kText;
  return s;
}

// \Seen for the next kJobMessages requests from st.next, in one store().
void set_seen(store::Folder& f, const FetchJob& job, FetchState& st) {
  size_t end = std::min(job.reqs.size(), st.next + kJobMessages);
  st.seen_until = end;
  st.newly_seen.clear();
  if (!job.plan.sets_seen || job.plan.readonly) return;
  std::vector<store::FlagChange> changes;
  for (size_t i = st.next; i < end; ++i) {
    const store::Message* m = f.find(job.reqs[i].uid);
    if (m && !m->flags.has(store::kFlagSeen)) {
      store::FlagChange ch;
      ch.uid = m->uid;
      ch.op = store::FlagOp::kAdd;
      ch.system = store::kFlagSeen;
      changes.push_back(ch);
    }
  }
  if (changes.empty()) return;
  auto res = f.store(changes);
  if (!res) log::warning("FETCH: setting \\Seen: %s", res.error().text.c_str());
  else st.newly_seen = std::move(res->changed);
}

// Whether the items need the message's bytes (a section, or a structure
// that is not cached).
bool needs_file(const store::Folder& f, const FetchPlan& plan, uint32_t uid) {
  if (plan.needs_tree) return true;
  if (!plan.needs_cached) return false;
  for (const auto& it : plan.items) {
    if (auto field = cache_field(it.attr); field && !f.cached(uid, *field)) return true;
  }
  return false;
}

enum class Opened { kOk, kGone, kFailed };

// Maps the message's file. A file not found may have been renamed by
// another process (flags): one sync, then one more try.
Opened open_message(store::Folder& f, const FetchPlan& plan, uint32_t uid, store::MappedMessage* file) {
  for (int attempt = 0;; ++attempt) {
    const store::Message* m = f.find(uid);
    if (!m) return Opened::kGone;
    auto mapped = store::MappedMessage::open(plan.dir + "/" + m->file, kMaxMessageFile);
    if (mapped) {
      *file = std::move(*mapped);
      return Opened::kOk;
    }
    if (mapped.error().code != Errc::kNotFound || attempt > 0) {
      log::warning("FETCH: reading %s: %s", m->file.c_str(), mapped.error().text.c_str());
      return Opened::kFailed;
    }
    if (auto st = f.sync(); !st) {
      log::warning("FETCH: %s", st.error().text.c_str());
      return Opened::kFailed;
    }
  }
}

// Plans one message's response: every item but the literals' bytes.
// nullopt when the message is gone.
std::optional<MessageOut> start_message(store::Folder& f, const FetchPlan& plan, const FetchRequest& q,
                                        FetchState& st, JobResult* r, std::vector<store::CacheFill>* fills) {
  MessageOut mo;
  std::optional<mail::MimeTree> tree;
  if (needs_file(f, plan, q.uid)) {
    Opened o = open_message(f, plan, q.uid, &mo.file);
    if (o == Opened::kGone) return std::nullopt;
    if (o == Opened::kOk) {
      const store::MappedMessage& file = mo.file;
      if (file.size() > kReleaseAbove)
        tree = mail::parse_mime(file.bytes(), plan.mime, [&file](size_t) { file.release(); });
      else
        tree = mail::parse_mime(file.bytes(), plan.mime);
    }
  }
  // After open_message (which may sync): the message as it is now.
  const store::Message* m = f.find(q.uid);
  if (!m) return std::nullopt;
  std::string_view body = mo.file.bytes();
  bool seen_now = std::binary_search(st.newly_seen.begin(), st.newly_seen.end(), q.uid);
  if (seen_now) r->flags.push_back({m->uid, m->flags.system, m->flags.keywords});

  std::string out = "* " + std::to_string(q.seq) + " FETCH (";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ' ';
    first = false;
  };
  if (plan.uid_command && !plan.uid_listed) {
    sep();
    out += "UID " + std::to_string(m->uid);
  }
  for (const auto& it : plan.items) {
    switch (it.attr) {
      case imap::FetchAttr::kUid:
        sep();
        out += "UID " + std::to_string(m->uid);
        break;
      case imap::FetchAttr::kFlags:
        sep();
        out += "FLAGS " + imap::format_flag_list(m->flags.system, f.keywords_of(*m), q.recent);
        break;
      case imap::FetchAttr::kInternalDate:
        sep();
        out += "INTERNALDATE " + imap::format_date_time(f.internaldate(*m), imap::local_zone_minutes(f.internaldate(*m)));
        break;
      case imap::FetchAttr::kRfc822Size:
        sep();
        out += "RFC822.SIZE " + std::to_string(m->rfc822_size);
        break;
      case imap::FetchAttr::kEnvelope:
      case imap::FetchAttr::kBody:
      case imap::FetchAttr::kBodyStructure: {
        store::CacheField field = *cache_field(it.attr);
        std::string value;
        if (const std::string* c = f.cached(m->uid, field)) {
          value = *c;
        } else if (tree) {
          if (it.attr == imap::FetchAttr::kEnvelope) value = imap::envelope(body, *tree);
          else value = imap::body_structure(body, *tree, it.attr == imap::FetchAttr::kBodyStructure);
          if (value.size() <= store::kMaxCacheValue) fills->push_back({m->uid, field, value});
        } else {
          continue;
        }
        sep();
        out += it.attr == imap::FetchAttr::kEnvelope ? "ENVELOPE "
               : it.attr == imap::FetchAttr::kBody   ? "BODY "
                                                     : "BODYSTRUCTURE ";
        out += value;
        break;
      }
      case imap::FetchAttr::kRfc822:
      case imap::FetchAttr::kRfc822Header:
      case imap::FetchAttr::kRfc822Text:
      case imap::FetchAttr::kBodySection: {
        sep();
        out += it.response_name() + " ";
        if (!tree) {
          out += "\"\"";
          break;
        }
        imap::Section section = it.attr == imap::FetchAttr::kBodySection ? it.section : rfc822_section(it.attr);
        auto data = imap::fetch_section(body, *tree, section,
                                        it.attr == imap::FetchAttr::kBodySection ? it.partial : std::nullopt);
        if (!data.exists()) {
          out += "\"\"";
          break;
        }
        out += "{" + std::to_string(data.size()) + "}\r\n";
        mo.pieces.push_back({std::move(out), std::move(data)});
        out.clear();
        break;
      }
    }
  }
  if (seen_now && !plan.flags_listed) {
    sep();
    out += "FLAGS " + imap::format_flag_list(m->flags.system, f.keywords_of(*m), q.recent);
  }
  out += ")\r\n";
  mo.pieces.push_back({std::move(out), std::nullopt});
  return mo;
}

// Appends the message's response to *out until out reaches `limit`.
// True when all of it went out.
bool emit(MessageOut& mo, std::string* out, size_t limit) {
  std::string_view bytes = mo.file.bytes();
  for (; mo.at < mo.pieces.size(); ++mo.at) {
    Piece& p = mo.pieces[mo.at];
    if (!p.text.empty()) {
      out->append(p.text);
      std::string().swap(p.text);
    }
    if (!p.literal) continue;
    while (p.literal->size() > 0) {
      if (out->size() >= limit) return false;
      p.literal->read(bytes, out, limit - out->size());
    }
  }
  return true;
}

// One job, on a worker, with the Folder to itself.
void run_job(store::Folder& f, FetchJob& job, JobResult* r) {
  FetchState& st = job.state;
  std::vector<store::CacheFill> fills;
  size_t started = 0;
  while (r->out.size() < kJobBytes) {
    if (!st.current) {
      if (st.next >= job.reqs.size() || started == kJobMessages) break;
      if (st.next >= st.seen_until) set_seen(f, job, st);
      const FetchRequest& q = job.reqs[st.next++];
      ++started;
      st.current = start_message(f, job.plan, q, st, r, &fills);
      if (!st.current) {
        st.expunged = true;
        continue;
      }
    }
    if (emit(*st.current, &r->out, kJobBytes)) st.current.reset();
  }
  if (st.current && st.current->file.size() > kReleaseAbove) st.current->file.release();
  st.done = !st.current && st.next >= job.reqs.size();
  if (!fills.empty()) {
    auto res = f.cache(fills);
    if (!res) log::debug("FETCH: caching: %s", res.error().text.c_str());
  }
}

}  // namespace

void SessionImpl::cmd_fetch(const Command& c) {
  if (!need_selected(c)) return;
  if (c.args.size() != 2 || !c.args[0].is_atom())
    return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto set = imap::parse_sequence_set(c.args[0].text);
  if (!set) return bad(c, "Error in IMAP command " + c.name + ": Invalid messageset");
  auto items = imap::parse_fetch_items(c.args[1]);
  if (!items) return bad(c, "Error in IMAP command " + c.name + ": " + imap::sanitize_text(items.error().text));
  std::vector<uint32_t> seqs;
  if (!resolve(c, *set, c.uid, &seqs)) return;
  auto job = std::make_shared<FetchJob>();
  FetchPlan& plan = job->plan;
  plan.items = std::move(*items);
  plan.uid_command = c.uid;
  plan.readonly = selected_->readonly;
  plan.dir = selected_->folder->dir();
  plan.mime.nesting = imapd_.settings().mime_nesting;
  for (const auto& it : plan.items) {
    if (it.sets_seen()) plan.sets_seen = true;
    if (cache_field(it.attr)) plan.needs_cached = true;
    if (it.attr == imap::FetchAttr::kUid) plan.uid_listed = true;
    if (it.attr == imap::FetchAttr::kFlags) plan.flags_listed = true;
    switch (it.attr) {
      case imap::FetchAttr::kRfc822:
      case imap::FetchAttr::kRfc822Header:
      case imap::FetchAttr::kRfc822Text:
      case imap::FetchAttr::kBodySection: plan.needs_tree = true; break;
      default: break;
    }
  }
  job->reqs.reserve(seqs.size());
  for (uint32_t s : seqs) {
    const ViewMessage& v = selected_->view.at(s);
    if (v.expunged) {  // RFC 3501 7.4.1: its number is still valid, its data gone
      job->state.expunged = true;
      continue;
    }
    job->reqs.push_back({s, v.uid, v.recent});
  }
  fetch_batch(c, std::move(job));
}

void SessionImpl::fetch_batch(const Command& c, std::shared_ptr<void> job_any) {
  auto job = std::static_pointer_cast<FetchJob>(job_any);
  if (job->state.next >= job->reqs.size() && !job->state.current) job->state.done = true;
  if (job->state.done || !selected_) {
    if (job->state.expunged) return no(c, "EXPUNGEISSUED", kExpungeIssued);
    return done(c, Condition::kOk, "Fetch completed.");
  }
  auto result = std::make_shared<JobResult>();
  selected_->folder->run([job, result](store::Folder& f) { run_job(f, *job, result.get()); },
                         guard([this, c, job, result] {
                           if (selected_) {
                             for (const auto& u : result->flags) selected_->view.set_flags(u.uid, u.system, u.keywords);
                           }
                           write(result->out);
                           std::string().swap(result->out);
                           when_drained([this, c, job] { fetch_batch(c, job); });
                         }));
}

}  // namespace tern::imapd
