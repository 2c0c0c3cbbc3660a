// STORE and UID STORE (RFC 3501 6.4.6, 6.4.8): flag changes, made durable
// by store::Folder::store (a rename per message, fsync, one MODSEQ for the
// batch) on the worker pool before the answer.
//
// A message the client still knows but another session expunged (RFC 3501
// 7.4.1) is left out, the others are changed and reported, and the command
// ends "NO [EXPUNGEISSUED] Some of the requested messages no longer exist."
// (RFC 5530), as Dovecot answers; the EXPUNGE comes with a later command.

#include "common/base/log.h"
#include "common/imap/store_args.h"
#include "imapd/session_impl.h"

namespace tern::imapd {
namespace {

struct StoreReq {
  uint32_t seq = 0;
  uint32_t uid = 0;
  bool recent = false;
};

struct StoreOut {
  Status st;
  bool expunged = false;  // a requested message no longer exists
  std::string out;
  std::vector<std::tuple<uint32_t, uint8_t, uint32_t>> flags;  // uid, system, keywords
};

}  // namespace

void SessionImpl::cmd_store(const Command& c) {
  if (!need_selected(c)) return;
  if (c.args.size() < 3 || !c.args[0].is_atom())
    return bad(c, "Error in IMAP command " + c.name + ": Invalid arguments.");
  auto set = imap::parse_sequence_set(c.args[0].text);
  if (!set) return bad(c, "Error in IMAP command " + c.name + ": Invalid messageset");
  auto args = imap::parse_store_args(c.args, 1);
  if (!args) return bad(c, "Error in IMAP command " + c.name + ": " + imap::sanitize_text(args.error().text));
  if (selected_->readonly) return no(c, "", "Mailbox is read-only.");
  std::vector<uint32_t> seqs;
  if (!resolve(c, *set, c.uid, &seqs)) return;
  std::vector<StoreReq> reqs;
  auto out = std::make_shared<StoreOut>();
  for (uint32_t s : seqs) {
    const ViewMessage& v = selected_->view.at(s);
    if (!v.expunged) reqs.push_back({s, v.uid, v.recent});
    else out->expunged = true;
  }
  bool uid = c.uid;
  selected_->folder->run(
      [reqs = std::move(reqs), a = std::move(*args), out, uid](store::Folder& f) {
        uint32_t kw = 0;
        for (const auto& name : a.flags.keywords) {
          auto idx = f.keyword(name);
          if (idx) kw |= 1u << *idx;
          else if (a.op != store::FlagOp::kRemove) {
            out->st = idx.take_error();
            return;
          }
        }
        std::vector<store::FlagChange> changes;
        changes.reserve(reqs.size());
        for (const auto& r : reqs) {
          store::FlagChange ch;
          ch.uid = r.uid;
          ch.op = a.op;
          ch.system = a.flags.system;
          ch.keywords = kw;
          changes.push_back(ch);
        }
        auto res = f.store(changes);
        if (!res) {
          out->st = res.take_error();
          return;
        }
        if (!res->gone.empty()) out->expunged = true;
        for (const auto& r : reqs) {
          const store::Message* m = f.find(r.uid);
          if (!m) {
            out->expunged = true;
            continue;
          }
          uint32_t known = m->flags.keywords & f.keywords().table().known();
          out->flags.emplace_back(m->uid, m->flags.system, known);
          if (a.silent) continue;
          out->out += "* " + std::to_string(r.seq) + " FETCH (";
          if (uid) out->out += "UID " + std::to_string(m->uid) + " ";
          out->out += "FLAGS " + imap::format_flag_list(m->flags.system, f.keywords_of(*m), r.recent) + ")\r\n";
        }
      },
      guard([this, c, out] {
        if (!out->st) {
          const Error& e = out->st.error();
          if (e.code == Errc::kLimit) return no(c, "LIMIT", "Too many keywords in this mailbox.");
          if (e.code == Errc::kInvalid) return bad(c, "Error in IMAP command STORE: Invalid keyword.");
          log::warning("imap(%s): STORE: %s", user_.user.c_str(), e.text.c_str());
          return no(c, "SERVERBUG", "Internal error occurred. Refer to server log for more information.");
        }
        if (selected_) {
          for (auto& [u, sys, kw] : out->flags) selected_->view.set_flags(u, sys, kw);
          // A new keyword changes FLAGS: say so before the FETCH responses
          // that use it (RFC 3501 7.2.6).
          send_updates(false, uid_command_);
        }
        write(out->out);
        if (out->expunged) return no(c, "EXPUNGEISSUED", "Some of the requested messages no longer exist.");
        done(c, Condition::kOk, "Store completed.");
      }));
}

}  // namespace tern::imapd
