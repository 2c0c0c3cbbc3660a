// qmgr(8): the queue manager. Takes new messages from incoming/ into
// active/ (qmgr/incoming.h), routes and delivers them through the delivery
// agents, records every outcome, retries deferred mail with backoff and
// sends the DSNs (qmgr/scheduler.h), and keeps its memory of active/ true
// to the disk while ternsuper holds, releases, requeues or deletes
// messages (qmgr/active_set.h).
//
// Woken by a change in incoming/ (inotify, so smtpd, pickup and ternsuper's
// releases need not ask), by queue_run_delay, and by requests on
// public/qmgr. The public/qmgr protocol is Postfix's trigger: connect, write
// one byte, close (common/server/trigger.h); qmgr reads at most one byte:
//   'W'  wake-up (master's wakeup column, ternsuper, the intake): scan
//        incoming/ (and notice what left active/)
//   'A'  scan all: bring back every deferred message now, whatever its
//        next attempt time (Postfix's QMGR_REQ_SCAN_ALL)
//   'F'  flush (ternqueue -f): 'A', and connect again at once to every
//        delivery agent qmgr had given up on for transport_retry_time
//        (Postfix's QMGR_REQ_FLUSH_DEAD)
//   'S' DOMAIN LF   (ternqueue -s DOMAIN) bring back every deferred message
//        with a recipient not yet final in DOMAIN now, and connect again
//        to the delivery agents given up on; DOMAIN at most kMaxSite
//        bytes of letters, digits, '-', '.', '_', ':' and '[]' (else the
//        request counts as 'W')
// Any other byte, or none within a second, counts as 'W'. Deferred
// messages whose next attempt has come are brought back every
// queue_run_delay and at start-up, as Postfix's qmgr does.

#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/queue/queue_dirs.h"
#include "common/server/skeleton.h"
#include "qmgr/active_set.h"
#include "qmgr/incoming.h"
#include "qmgr/scheduler.h"
#include "qmgr/settings.h"

namespace {

using namespace tern;

// One public/qmgr client: waits for its byte (for 'S', its line).
struct Trigger {
  Fd fd;
  event::IoWatch watch;
  event::Timer timer;
  std::string got;
};

constexpr size_t kMaxSite = 255;

// The domain of an 'S' request, "" when it is not one.
std::string site_of(const std::string& got) {
  size_t nl = got.find('\n');
  if (got.size() < 2 || got[0] != 'S' || nl == std::string::npos) return "";
  std::string site = got.substr(1, nl - 1);
  if (site.empty() || site.size() > kMaxSite) return "";
  for (char c : site)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._:[]", c))) return "";
  return site;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern;
  qmgr::ActiveSet active;
  std::unique_ptr<qmgr::Settings> settings;
  std::optional<qmgr::Incoming> incoming;
  std::unique_ptr<qmgr::Scheduler> scheduler;
  std::map<int, std::unique_ptr<Trigger>> triggers;
  Fd inotify;
  event::IoWatch inotify_watch;
  event::Timer fallback;

  auto destroy_handles = [&] {
    // Destroyed, not only cancelled: they live in main() and would
    // otherwise outlive the skeleton's loop (which panics on that).
    inotify_watch = event::IoWatch();
    fallback = event::Timer();
    triggers.clear();
    scheduler.reset();
  };

  server::ServiceSpec spec;
  spec.program = "qmgr";
  spec.resident = true;
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    // Tables are opened before the drop (DESIGN.md).
    auto s = qmgr::load_settings(ctx.config(), ctx.config().str("queue_directory"));
    if (!s) return s.take_error();
    settings = std::move(*s);
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    std::string queue_dir = ctx.jail_path(ctx.config().str("queue_directory"));
    settings->queue_dir = queue_dir;
    settings->cleanup.queue_dir = queue_dir;
    incoming.emplace(ctx.workers(), queue_dir, active, ctx.clock(), settings->active_limit);
    scheduler = std::make_unique<qmgr::Scheduler>(ctx.loop(), ctx.workers(), *settings, active);
    incoming->on_taken = [&](const std::string& id, const qmgr::ActiveEntry& e) { scheduler->take(id, e.file); };
    incoming->on_gone = [&](const std::string& id) { scheduler->forget(id); };
    scheduler->on_room = [&] { incoming->room_freed(); };
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return sys_error("inotify_init1");
    inotify = Fd(fd);
    std::string dir = queue_dir + "/" + std::string(queue::queue_name(queue::Queue::kIncoming));
    if (inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CREATE) < 0) return sys_error("inotify_add_watch " + dir);
    inotify_watch = event::IoWatch(ctx.loop(), fd, event::IoWatch::kRead, [&](short) {
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
      // At once: while a scan runs, further requests fold into one more
      // scan after it (Incoming::request_scan), so a burst of arrivals
      // still makes few scans without waiting for a timer.
      incoming->request_scan(qmgr::ScanKind::kIncoming);
    });
    fallback = event::Timer(ctx.loop(), [&] { incoming->request_scan(qmgr::ScanKind::kFull, qmgr::DeferredScan::kDue); });
    fallback.start_every(ctx.config().seconds("queue_run_delay"));
    // Whatever arrived while qmgr was down, active/ of the last run, and
    // the deferred messages that are due.
    incoming->request_scan(qmgr::ScanKind::kFull, qmgr::DeferredScan::kDue);
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer&) {
    int key = fd.get();
    auto t = std::make_unique<Trigger>();
    t->fd = std::move(fd);
    auto finish = [&, key](char what, const std::string& site) {
      if (what == 'S' && !site.empty()) {
        scheduler->flush();
        incoming->request_site(site);
      } else if (what == 'F' || what == 'A') {
        if (what == 'F') scheduler->flush();
        incoming->request_scan(qmgr::ScanKind::kFull, qmgr::DeferredScan::kAll);
      } else {
        incoming->request_scan();
      }
      // Destroyed after this callback returns, not inside it.
      ctx.loop().post([&, key] {
        triggers.erase(key);
        ctx.client_done();
      });
    };
    t->watch = event::IoWatch(ctx.loop(), t->fd.get(), event::IoWatch::kRead, [&, key, finish](short) {
      auto it = triggers.find(key);
      if (it == triggers.end() || !it->second->watch.active()) return;
      Trigger& tr = *it->second;
      char buf[kMaxSite + 3];
      ssize_t n = ::recv(tr.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n > 0) tr.got.append(buf, static_cast<size_t>(n));
      // 'S' waits for its line (or the end, or too many bytes).
      bool more = n > 0 && !tr.got.empty() && tr.got[0] == 'S' && tr.got.find('\n') == std::string::npos &&
                  tr.got.size() <= kMaxSite + 1;
      if (more) return;
      tr.watch.cancel();
      tr.timer.cancel();
      char what = tr.got.empty() ? 'W' : tr.got[0];
      finish(what, site_of(tr.got));
    });
    t->timer = event::Timer(ctx.loop(), [&, key, finish] {
      auto it = triggers.find(key);
      if (it == triggers.end()) return;
      it->second->watch.cancel();
      finish('W', "");
    });
    t->timer.start(std::chrono::seconds(1));
    triggers[key] = std::move(t);
  };
  spec.on_stop = [&](server::Context&) {
    inotify_watch = event::IoWatch();
    fallback = event::Timer();
    if (scheduler) scheduler->stop();
  };
  // They belong to the skeleton's loop, which must outlive them: destroyed
  // here, not after run_service() returns (that panicked at every stop).
  spec.on_exit = [&](server::Context&) { destroy_handles(); };
  return server::run_service(argc, argv, std::move(spec));
}
