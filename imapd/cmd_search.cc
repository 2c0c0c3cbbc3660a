// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8).
//
// Evaluated on the worker pool in the folder's job queue by
// common/imap/search_eval.h, message by message. A file is read only when
// the program needs it (search_needs: header or body keys); flags, sizes,
// dates and UIDs come from the folder's list.

#include "common/base/log.h"
#include "common/imap/date.h"
#include "common/imap/search_eval.h"
#include "common/imap/search_key.h"
#include "common/mail/mime.h"
#include "common/store/mapped_message.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

struct Candidate {
  uint32_t seq = 0;
  uint32_t uid = 0;
  bool recent = false;
};

// A message file larger than this is searched by its first bytes only.
constexpr size_t kMaxSearchFile = size_t{64} << 20;
// More than the header parser ever reads (mail::HeaderLimits::total).
constexpr size_t kMaxSearchHeader = size_t{1} << 20;

// A message's search record (search_eval.h): from the index's cache, else
// computed from the file's header section into `scratch` and added to
// `fills`. The views of the result point into the cache or `scratch`: use
// it before the next call. nullopt when the file cannot be read (the caller
// then reads it whole and reports why).
std::optional<imap::SearchHeader> search_record(store::Folder& f, const std::string& dir, const store::Message& m,
                                                const mail::MimeLimits& mime, std::vector<store::CacheFill>& fills,
                                                std::string& scratch) {
  if (const std::string* rec = f.cached(m.uid, store::CacheField::kSearch)) {
    if (auto h = imap::parse_search_header(*rec)) return h;
  }
  auto file = store::MappedMessage::open(dir + "/" + m.file, SIZE_MAX);
  if (!file) return std::nullopt;
  std::string_view header = imap::header_section(file->bytes(), kMaxSearchHeader);
  mail::MimeTree tree = mail::parse_mime(header, mime);
  scratch = imap::search_header_record(header, tree);
  // One too big to cache serves this search only.
  if (scratch.size() <= store::kMaxCacheValue) fills.push_back({m.uid, store::CacheField::kSearch, scratch});
  return imap::parse_search_header(scratch);
}

}  // namespace

void SessionImpl::cmd_search(const Command& c) {
  if (!need_selected(c)) return;
  if (c.args.empty()) return bad(c, "Error in IMAP command " + c.name + ": Missing search parameters");
  auto parsed = std::make_shared<imap::SearchParse>(imap::parse_search(c.args));
  if (parsed->error == imap::SearchError::kBad)
    return bad(c, "Error in IMAP command " + c.name + ": " + imap::sanitize_text(parsed->text));
  if (parsed->error == imap::SearchError::kBadCharset)
    return no(c, "BADCHARSET (UTF-8 US-ASCII)", imap::sanitize_text(parsed->text));
  std::vector<Candidate> cands;
  const View& v = selected_->view;
  cands.reserve(v.size());
  for (uint32_t s = 1; s <= v.size(); ++s) {
    const ViewMessage& m = v.at(s);
    if (!m.expunged) cands.push_back({s, m.uid, m.recent});
  }
  auto hits = std::make_shared<std::string>();
  bool uid = c.uid;
  uint32_t largest_seq = static_cast<uint32_t>(v.size());
  uint32_t largest_uid = v.last_uid();
  selected_->folder->run(
      [parsed, hits, uid, cands = std::move(cands), largest_seq, largest_uid,
       dir = selected_->folder->dir(), mime = mail::MimeLimits{imapd_.settings().mime_nesting}](store::Folder& f) {
        const imap::SearchKey& root = parsed->program.root;
        imap::SearchNeeds needs = imap::search_needs(root);
        const bool by_record = needs == imap::SearchNeeds::kHeader && imap::search_header_suffices(root);
        // The first search of a folder for FROM or UNSEEN stat()ed every
        // file for a date it never read.
        const bool dates = imap::search_uses_date(root);
        const bool keywords = imap::search_uses_keywords(root);
        imap::SearchEvaluator eval(root, largest_seq, largest_uid);
        std::vector<store::CacheFill> fills;
        std::string scratch;
        for (const auto& cand : cands) {
          const store::Message* m = f.find(cand.uid);
          if (!m) continue;
          imap::SearchMessage sm;
          sm.uid = m->uid;
          sm.seqnum = cand.seq;
          sm.flags = m->flags.system;
          sm.recent = cand.recent;
          if (keywords) sm.keywords = f.keywords_of(*m);
          if (dates) {
            sm.internaldate = f.internaldate(*m);
            sm.internaldate_zone = imap::local_zone_minutes(sm.internaldate);
          }
          sm.rfc822_size = m->rfc822_size;
          bool hit = false;
          if (needs == imap::SearchNeeds::kNothing) {
            hit = eval.matches(sm);
          } else if (auto header = by_record ? search_record(f, dir, *m, mime, fills, scratch) : std::nullopt) {
            hit = eval.matches(sm, *header);
          } else {
            auto data = read_file(dir + "/" + m->file, kMaxSearchFile);
            if (!data) {
              if (data.error().code == Errc::kLimit) log::info("SEARCH: %s is too big to search", m->file.c_str());
              continue;
            }
            mail::MimeTree tree = mail::parse_mime(*data, mime);
            hit = eval.matches(sm, *data, &tree);
          }
          if (hit) {
            *hits += ' ';
            *hits += std::to_string(uid ? cand.uid : cand.seq);
          }
        }
        // Records computed now serve the next search (without fsync: the
        // index is disposable, index.h).
        if (Status st = f.cache(fills); !st) log::warning("SEARCH: caching: %s", st.error().text.c_str());
      },
      guard([this, c, hits] {
        write("* SEARCH" + *hits + "\r\n");
        done(c, Condition::kOk, "Search completed.");
      }));
}

}  // namespace tern::imapd
