#pragma once
// The inside of a Session (session.h): its I/O, the command loop, and one
// member function per command, defined in the cmd_*.cc file named for the
// command family (as Dovecot's cmd-*.c). Only imapd/ includes this.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/imap/command.h"
#include "common/imap/command_reader.h"
#include "common/imap/response.h"
#include "common/imap/sequence_set.h"
#include "common/store/message_file.h"
#include "imapd/folder_cache.h"
#include "imapd/imapd.h"
#include "imapd/quota.h"
#include "imapd/session.h"
#include "imapd/view.h"

namespace tern::imapd {

using imap::Command;
using imap::Condition;

// The mailbox a session has selected (RFC 3501 3.3).
struct Selected {
  std::string name;  // UTF-8, as LIST shows it
  std::shared_ptr<SharedFolder> folder;
  bool readonly = false;  // EXAMINE
  int listener = 0;
  View view;
};

// APPEND's message, written into the target folder's tmp/ as the literal
// arrives (cmd_append.cc); the command fsyncs and renames it.
class AppendSink : public imap::LiteralSink {
 public:
  static std::unique_ptr<AppendSink> create(const std::string& folder_dir, std::string* error);
  void write(std::string_view bytes) override;
  const std::string& dir() const { return dir_; }
  std::optional<store::MessageWriter>& writer() { return writer_; }
  const Status& status() const { return status_; }
  bool has_nul() const { return nul_; }

 private:
  std::string dir_;
  std::optional<store::MessageWriter> writer_;
  Status status_;
  bool nul_ = false;
};

class SessionImpl {
 public:
  SessionImpl(Session& owner, Imapd& imapd, Fd in, Fd out, UserInfo user, ClientInfo info);
  ~SessionImpl();

  void start(std::optional<std::string> login_tag, std::string pending);
  void shutdown();
  const UserInfo& user() const { return user_; }

  // ---- I/O (session.cc)
  void on_readable();
  void on_writable();
  void write(std::string_view bytes);
  void flush();
  void post_input();
  void process_input();
  void run_commands();
  void finish(const char* why);
  void close_after_output();
  void set_reading(bool on);
  void on_literal(const imap::LiteralRequest& lit);

  // ---- the command cycle (session.cc)
  void dispatch(Command c);
  void tagged(const Command& c, Condition cond, std::string_view code, std::string_view text);
  // The tagged answer, and the command is over (untagged updates first).
  void done(const Command& c, Condition cond, std::string_view text) { done(c, cond, {}, text); }
  void done(const Command& c, Condition cond, std::string_view code, std::string_view text);
  void bad(const Command& c, std::string_view text) { done(c, Condition::kBad, text); }
  void no(const Command& c, std::string_view code, std::string_view text) { done(c, Condition::kNo, code, text); }
  void command_done();
  // A callback for the worker pool's completion that does nothing once
  // the session is gone.
  std::function<void()> guard(std::function<void()> fn);

  // ---- the selected mailbox (cmd_select.cc)
  // Untagged updates from the folder (EXISTS, EXPUNGE, FETCH FLAGS).
  // allow_expunge: false during FETCH, STORE and SEARCH (RFC 3501 7.4.1).
  void send_updates(bool allow_expunge, bool with_uid);
  void unselect(bool expunge_deleted, std::function<void()> then);
  View::ClaimRecent recent_claim();
  void folder_changed();
  // Resolves a sequence set (UIDs when `uid`) to 1-based sequence numbers
  // of the view, in ascending order. False (and a BAD written) when a
  // message number is out of range (RFC 3501 9: seq-number is a number in
  // the mailbox).
  bool resolve(const Command& c, const imap::SequenceSet& set, bool uid, std::vector<uint32_t>* seqs);
  bool need_selected(const Command& c);

  // ---- mailbox names and the folder tree (cmd_mailbox.cc)
  // The UTF-8 name of a mailbox argument, or nullopt with BAD/NO written.
  std::optional<std::string> mailbox_arg(const Command& c, size_t index);
  Result<std::string> folder_dir(std::string_view name) const;

  // ---- commands
  void cmd_capability(const Command& c);
  void cmd_noop(const Command& c);
  void cmd_logout(const Command& c);
  void cmd_id(const Command& c);
  void cmd_enable(const Command& c);
  void cmd_namespace(const Command& c);
  void cmd_select(const Command& c, bool readonly);
  void cmd_close(const Command& c);
  void cmd_unselect(const Command& c);
  void cmd_check(const Command& c);
  void cmd_create(const Command& c);
  void cmd_delete(const Command& c);
  void cmd_rename(const Command& c);
  void cmd_subscribe(const Command& c, bool subscribe);
  void cmd_list(const Command& c, bool lsub);
  void cmd_status(const Command& c);
  void cmd_append(const Command& c);
  void cmd_getquota(const Command& c, bool by_mailbox);  // GETQUOTAROOT, GETQUOTA (cmd_quota.cc)
  void cmd_setquota(const Command& c);
  void cmd_expunge(const Command& c);
  void cmd_fetch(const Command& c);
  // The next part of a FETCH's answer (job: cmd_fetch.cc's FetchJob).
  void fetch_batch(const Command& c, std::shared_ptr<void> job);
  // Runs fn once the client has read most of what waits for it.
  void when_drained(std::function<void()> fn);
  void cmd_store(const Command& c);
  void cmd_search(const Command& c);
  void cmd_copy(const Command& c, bool move);
  void cmd_idle(const Command& c);
  void idle_line(std::string_view line);

  Session& owner_;
  Imapd& imapd_;
  UserInfo user_;
  ClientInfo info_;
  std::string maildir_;
  Quota quota_;  // use on the worker pool only (copies are cheap)
  Fd in_;
  Fd out_;  // invalid: in_ serves both directions
  int out_fd() const { return out_.valid() ? out_.get() : in_.get(); }
  event::IoWatch read_watch_;
  event::IoWatch write_watch_;
  event::Timer idle_timer_;
  imap::CommandReader reader_;
  std::string outbuf_;
  size_t out_pos_ = 0;
  bool reading_ = true;
  bool running_ = false;      // a command is in progress
  bool dispatching_ = false;  // inside dispatch(), called by run_commands()
  bool closing_ = false;      // LOGOUT or BYE written: close once flushed
  bool finished_ = false;
  bool logged_ = false;       // the end of the session is logged already
  bool stopping_ = false;     // shutdown(): BYE after the command in progress
  bool eof_ = false;
  bool lost_ = false;         // a write failed: the client is gone
  bool pollable_in_ = true;   // false for a regular file on stdin
  bool read_posted_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  int errors_ = 0;            // BADs in a row (Dovecot closes after 20)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::function<void()> drained_;  // when_drained()

  std::optional<Selected> selected_;
  // The command in progress may be told of expunges (RFC 3501 7.4.1).
  bool allow_expunge_ = true;
  bool uid_command_ = false;

  // IDLE (RFC 2177).
  std::optional<Command> idle_;
  event::Timer idle_poll_;

  // APPEND's literal, streamed into the target folder's tmp/.
  std::unique_ptr<AppendSink> append_sink_;
  std::string append_error_;  // the NO for the command when the sink could not be made
};

}  // namespace tern::imapd
