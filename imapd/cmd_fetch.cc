// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8).
//
// The answer is built on the worker pool, in the folder's job queue (the
// Folder is the job's alone), in batches of kBatchMessages messages or
// kBatchBytes of output: a batch is written to the client before the next
// one starts, and the next one waits while the client has not read the
// last (session.cc kMaxPendingOutput), so a FETCH 1:* BODY[] of a big
// folder costs bounded memory.
//
// ENVELOPE, BODYSTRUCTURE and BODY come from the folder's cache
// (store::Folder::cached) when there; otherwise the message is read and
// parsed once (common/mail/mime.h) and what was computed is cached at the
// end of the batch. FLAGS, UID, INTERNALDATE and RFC822.SIZE need no file.
//
// BODY[...] (not PEEK), RFC822 and RFC822.TEXT set \Seen in a read-write
// mailbox (RFC 3501 6.4.5), in one store() for the batch before the
// answer is built; the FETCH response then carries FLAGS too, as Dovecot
// does, so the client learns of it.

#include <algorithm>

#include "common/base/log.h"
#include "common/imap/bodystructure.h"
#include "common/imap/date.h"
#include "common/imap/envelope.h"
#include "common/imap/fetch_items.h"
#include "common/imap/fetch_section.h"
#include "common/mail/mime.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

constexpr size_t kBatchMessages = 256;
constexpr size_t kBatchBytes = 1 << 20;
// A message file larger than this is not read whole (imap_max_literal is
// the largest APPEND; deliveries are bounded by message_size_limit).
constexpr size_t kMaxMessageFile = size_t{1} << 30;

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
  mail::MimeLimits mime;       // mime_nesting_limit
};

struct FlagUpdate {
  uint32_t uid = 0;
  uint8_t system = 0;
  uint32_t keywords = 0;
};

struct BatchResult {
  std::string out;
  std::vector<FlagUpdate> flags;  // \Seen set by this batch
  size_t next = 0;                // index of the first request not done
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

void append_literal(std::string* out, std::string_view bytes) {
  *out += "{" + std::to_string(bytes.size()) + "}\r\n";
  out->append(bytes);
}

// One batch, on a worker, with the Folder to itself.
void run_batch(store::Folder& f, const FetchPlan& plan, const std::vector<FetchRequest>& reqs, size_t from,
               BatchResult* r) {
  size_t end = std::min(reqs.size(), from + kBatchMessages);
  // \Seen first, for the whole batch at once (one rename each, one fsync).
  std::vector<uint32_t> newly_seen;
  if (plan.sets_seen && !plan.readonly) {
    std::vector<store::FlagChange> changes;
    for (size_t i = from; i < end; ++i) {
      const store::Message* m = f.find(reqs[i].uid);
      if (m && !m->flags.has(store::kFlagSeen)) {
        store::FlagChange ch;
        ch.uid = m->uid;
        ch.op = store::FlagOp::kAdd;
        ch.system = store::kFlagSeen;
        changes.push_back(ch);
      }
    }
    if (!changes.empty()) {
      auto st = f.store(changes);
      if (!st) log::warning("FETCH: setting \\Seen: %s", st.error().text.c_str());
      else newly_seen = st->changed;
    }
  }
  std::vector<store::CacheFill> fills;
  size_t i = from;
  for (; i < end && r->out.size() < kBatchBytes; ++i) {
    const FetchRequest& q = reqs[i];
    const store::Message* m = f.find(q.uid);
    if (!m) continue;  // expunged meanwhile: nothing to say about it
    bool seen_now = std::binary_search(newly_seen.begin(), newly_seen.end(), q.uid);
    if (seen_now) r->flags.push_back({m->uid, m->flags.system, m->flags.keywords});
    // The message's bytes, read when an item needs them.
    std::string body;
    std::optional<mail::MimeTree> tree;
    bool have_body = false;
    std::string out = "* " + std::to_string(q.seq) + " FETCH (";
    bool first = true;
    auto sep = [&] {
      if (!first) out += ' ';
      first = false;
    };
    bool uid_listed = false, flags_listed = false;
    for (const auto& it : plan.items) {
      if (it.attr == imap::FetchAttr::kUid) uid_listed = true;
      if (it.attr == imap::FetchAttr::kFlags) flags_listed = true;
    }
    if (plan.uid_command && !uid_listed) {
      sep();
      out += "UID " + std::to_string(m->uid);
    }
    auto message_bytes = [&]() -> const std::string* {
      if (!have_body) {
        have_body = true;
        auto data = read_file(plan.dir + "/" + m->file, kMaxMessageFile);
        if (!data) {
          log::warning("FETCH: reading %s: %s", m->file.c_str(), data.error().text.c_str());
          return nullptr;
        }
        body = std::move(*data);
        tree = mail::parse_mime(body, plan.mime);
      }
      return tree ? &body : nullptr;
    };
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
          out += "INTERNALDATE " + imap::format_date_time(m->internaldate, imap::local_zone_minutes(m->internaldate));
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
          } else if (message_bytes()) {
            if (it.attr == imap::FetchAttr::kEnvelope) value = imap::envelope(body, *tree);
            else value = imap::body_structure(body, *tree, it.attr == imap::FetchAttr::kBodyStructure);
            if (value.size() <= store::kMaxCacheValue) fills.push_back({m->uid, field, value});
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
          if (!message_bytes()) {
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
          append_literal(&out, data.read_all(body));
          break;
        }
      }
    }
    if (seen_now && !flags_listed) {
      sep();
      out += "FLAGS " + imap::format_flag_list(m->flags.system, f.keywords_of(*m), q.recent);
    }
    out += ")\r\n";
    r->out += out;
  }
  r->next = i;
  if (!fills.empty()) {
    auto st = f.cache(fills);
    if (!st) log::debug("FETCH: caching: %s", st.error().text.c_str());
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
  auto plan = std::make_shared<FetchPlan>();
  plan->items = std::move(*items);
  plan->uid_command = c.uid;
  plan->readonly = selected_->readonly;
  plan->dir = selected_->folder->dir();
  plan->mime.nesting = imapd_.settings().mime_nesting;
  for (const auto& it : plan->items) {
    if (it.sets_seen()) plan->sets_seen = true;
  }
  auto reqs = std::make_shared<std::vector<FetchRequest>>();
  reqs->reserve(seqs.size());
  for (uint32_t s : seqs) {
    const ViewMessage& v = selected_->view.at(s);
    if (v.expunged) continue;  // RFC 3501 7.4.1: its number is still valid, its data gone
    reqs->push_back({s, v.uid, v.recent});
  }
  fetch_batch(c, plan, reqs, 0);
}

void SessionImpl::fetch_batch(const Command& c, std::shared_ptr<const void> plan_any,
                              std::shared_ptr<const void> reqs_any, size_t from) {
  auto plan = std::static_pointer_cast<const FetchPlan>(plan_any);
  auto reqs = std::static_pointer_cast<const std::vector<FetchRequest>>(reqs_any);
  if (from >= reqs->size() || !selected_) return done(c, Condition::kOk, "Fetch completed.");
  auto result = std::make_shared<BatchResult>();
  selected_->folder->run(
      [plan, reqs, from, result](store::Folder& f) { run_batch(f, *plan, *reqs, from, result.get()); },
      guard([this, c, plan, reqs, result, from] {
        if (selected_) {
          for (const auto& u : result->flags) selected_->view.set_flags(u.uid, u.system, u.keywords);
        }
        write(result->out);
        size_t next = std::max(result->next, from + 1);
        when_drained([this, c, plan, reqs, next] { fetch_batch(c, plan, reqs, next); });
      }));
}

}  // namespace tern::imapd
