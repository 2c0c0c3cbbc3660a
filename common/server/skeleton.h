#pragma once
// The one service skeleton every daemon runs on (STYLE.md "A daemon is a
// thin main"). A daemon describes itself in a ServiceSpec and calls
// run_service(); the skeleton does, in this order:
//   options: -c DIR, -n service, -t type, -U user, -R chroot, -v, -o name=value
//   log to master (fd 4), main.cf + -o overrides + the service's own params
//   adopt the listeners master passed (fds 5…)
//   the DNS resolver, for services that ask for one (dns_servers, dns_timeout)
//   init_privileged (load keys, certificates, tables: anything outside the jail)
//   tzset, drop privileges (privilege.h) and verify; refuse to run otherwise
//   start the worker pool, init_unprivileged, report "ready" to master
//   serve: accept up to client_limit clients; at the limit report "full" and
//   stop accepting, unless master says every process is full, in which case
//   accept and answer overload_reply at once; exit after max_idle without
//   clients or once max_use clients have been served and none is left
//   stop gracefully on SIGTERM, SIGINT or when master goes away: close the
//   listeners, tell the service (on_stop), exit when the last client is done
//   (on_exit first).

#include <functional>
#include <string>
#include <vector>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/config/main_cf.h"
#include "common/dns/resolver.h"
#include "common/event/loop.h"
#include "common/event/worker_pool.h"

namespace tern::server {

struct Peer {
  std::string address;  // "192.0.2.1", "2001:db8::1", or "local" for unix sockets
  int port = 0;
  bool local = false;   // accepted on a unix socket
};

class Context;

struct ServiceSpec {
  std::string program;  // "smtpd": the log tag and the default service name
  // Parameters the program reads beyond the table: name, default.
  std::vector<std::pair<std::string, std::string>> params;
  std::function<Status(Context&)> init_privileged;
  std::function<Status(Context&)> init_unprivileged;
  // Owns the client from here on; must call Context::client_done() once
  // when the connection ends.
  std::function<void(Context&, Fd client, const Peer& peer)> on_connection;
  // Written to a client refused because every process is full.
  std::string overload_reply = "421 4.3.2 Service busy, try again later\r\n";
  // A resident service (qmgr) works without clients: it never exits for
  // max_idle or max_use, only when stopped.
  bool resident = false;
  // The service looks names up: the skeleton makes a dns::Resolver before
  // the drop (c-ares reads /etc/resolv.conf, which the jail lacks) from
  // dns_servers and dns_timeout; Context::resolver() hands it out. With
  // dns_servers empty, a change of /etc/resolv.conf makes the process
  // finish its clients and exit, so the next one reads the new servers.
  bool dns = false;
  // Graceful stop began: finish or close clients (IMAP says * BYE).
  std::function<void(Context&)> on_stop;
  // The loop has ended, and is still there: destroy what holds timers or
  // watches of it (a client of another service kept for the whole process).
  std::function<void(Context&)> on_exit;
};

class Context {
 public:
  const config::MainCf& config() const { return *config_; }
  const std::string& service_name() const { return service_name_; }
  const std::string& service_type() const { return service_type_; }
  event::Loop& loop() { return *loop_; }
  event::WorkerPool& workers() { return *workers_; }
  Clock& clock() { return loop_->clock(); }
  int clients() const { return clients_; }
  // The resolver of a service whose spec says dns = true; null otherwise.
  dns::Resolver* resolver() { return resolver_; }
  // A path as this process sees it after the drop: inside its chroot the
  // jail's prefix is removed ("/var/spool/tern/private/auth" -> "/private/auth").
  std::string jail_path(const std::string& path) const;
  bool stopping() const { return stopping_; }
  // Before the drop (init_privileged): a file loaded now whose change
  // should make this process finish its clients and exit, so that master
  // starts one that loads the new version. (main.cf is not watched: its
  // changes take effect on `ternctl reload`, as administrators expect.)
  Status watch_file(const std::string& path);
  // One client is finished (the service closed it).
  void client_done();
  // Begins a graceful stop (also on SIGTERM and when master goes away).
  void stop();

 private:
  friend int run_service(int argc, char** argv, ServiceSpec spec);
  friend class Server;
  const config::MainCf* config_ = nullptr;
  std::string service_name_;
  std::string service_type_;
  event::Loop* loop_ = nullptr;
  event::WorkerPool* workers_ = nullptr;
  class Server* server_ = nullptr;
  class FileWatch* files_ = nullptr;
  dns::Resolver* resolver_ = nullptr;
  int clients_ = 0;
  std::string chroot_dir_;  // set once actually chrooted
  bool stopping_ = false;
};

// Runs the daemon; returns the exit status for main().
int run_service(int argc, char** argv, ServiceSpec spec);

}  // namespace tern::server
