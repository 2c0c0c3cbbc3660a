#pragma once
// imapd: one object per process, serving every authenticated IMAP session
// the process has (up to client_limit), with what they share: the loop,
// the worker pool, one store::Folder per folder (folder_cache.h) and one
// inotify instance watching the selected folders (folder_watch.h).
//
// Sessions come from two places: the handoff listener on login/imap
// (imapd/handoff.h: imap-login passes each client's descriptor after
// authd confirmed the login), and the PREAUTH mode of `imapd -u USER`
// (main.cc), which serves one session on stdin/stdout for a user who is
// already authenticated (ssh, mbsync's Tunnel), as Dovecot's `imap` does.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/base/fd.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"
#include "common/ipc/anvil_client.h"
#include "imapd/session.h"
#include "imapd/settings.h"

namespace tern::imapd {

class FolderCache;

class Imapd {
 public:
  Imapd(event::Loop& loop, event::WorkerPool& workers, Settings settings);
  ~Imapd();
  Imapd(const Imapd&) = delete;
  Imapd& operator=(const Imapd&) = delete;

  // Serves an authenticated client on `client` (a connected stream socket). When
  // login_tag is set imapd first writes "<tag> OK [CAPABILITY ...] Logged in",
  // otherwise "* PREAUTH [CAPABILITY ...] Logged in as <user>". `pending` holds
  // bytes the client already sent after its login command (pipelining); they are
  // processed first.
  void serve(Fd client, UserInfo user, ClientInfo info,
             std::optional<std::string> login_tag, std::string pending);
  // The same on two descriptors (the PREAUTH mode on stdin/stdout).
  void serve(Fd in, Fd out, UserInfo user, ClientInfo info);

  // anvil, which counts each user's sessions per client address over every
  // imapd process (mail_max_userip_connections); must outlive this object.
  // Without it (the PREAUTH mode, or no limit) nothing is counted.
  void set_anvil(ipc::AnvilClient* anvil) { anvil_ = anvil; }

  // Runs after each session ends (the process's client accounting).
  void on_session_end(std::function<void()> fn) { on_end_ = std::move(fn); }
  size_t sessions() const { return sessions_.size(); }
  // Graceful stop: every session gets "* BYE" after its command in progress.
  void shutdown();

  event::Loop& loop() { return loop_; }
  event::WorkerPool& workers() { return workers_; }
  const Settings& settings() const { return settings_; }
  FolderCache& folders() { return *folders_; }

  // Called by a session when it is over; destroys it (later, on the loop).
  void session_ended(Session* s);

 private:
  // A confirmed login waiting for anvil's count before it is served.
  struct Waiting {
    Fd client;
    UserInfo user;
    ClientInfo info;
    std::optional<std::string> login_tag;
    std::string pending;
    uint64_t anvil_conn = 0;  // the anvil connection that counted it
    std::string key;          // anvil's client name: user/address
  };
  struct Counted {
    uint64_t anvil_conn;
    std::string key;
  };
  bool full(int out_fd, const std::string& user);
  void counted(uint64_t id, const ipc::AnvilReply* reply);
  Session* start_session(std::unique_ptr<Session> s, std::optional<std::string> login_tag, std::string pending);

  event::Loop& loop_;
  event::WorkerPool& workers_;
  Settings settings_;
  std::unique_ptr<FolderCache> folders_;
  std::map<Session*, std::unique_ptr<Session>> sessions_;
  std::function<void()> on_end_;
  ipc::AnvilClient* anvil_ = nullptr;
  uint64_t next_waiting_ = 1;
  std::map<uint64_t, Waiting> waiting_;
  std::map<Session*, Counted> counted_;  // sessions anvil counted: a disconnect when they end
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::imapd
