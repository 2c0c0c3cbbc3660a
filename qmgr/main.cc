// qmgr(8): the queue manager. In this version: takes new messages from
// incoming/ into active/ (qmgr/incoming.h) and keeps its memory of active/
// (qmgr/active_set.h) true to the disk while ternsuper holds, releases,
// requeues or deletes messages. Woken by a change in incoming/ (inotify, so
// smtpd, pickup and ternsuper's releases need not ask), by a wake-up on
// public/qmgr (master's wakeup column, ternsuper, ternqueue), and by
// queue_run_delay as a fallback.

#include <sys/inotify.h>
#include <unistd.h>

#include <optional>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/queue/queue_dirs.h"
#include "common/server/skeleton.h"
#include "qmgr/active_set.h"
#include "qmgr/incoming.h"

int main(int argc, char** argv) {
  using namespace tern;
  qmgr::ActiveSet active;
  std::optional<qmgr::Incoming> incoming;
  Fd inotify;
  event::IoWatch inotify_watch;
  event::Timer fallback;
  event::Timer settle;

  server::ServiceSpec spec;
  spec.program = "qmgr";
  spec.resident = true;
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    std::string queue_dir = ctx.jail_path(ctx.config().str("queue_directory"));
    incoming.emplace(ctx.workers(), queue_dir, active);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return sys_error("inotify_init1");
    inotify = Fd(fd);
    std::string dir = queue_dir + "/" + std::string(queue::queue_name(queue::Queue::kIncoming));
    if (inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CREATE) < 0) return sys_error("inotify_add_watch " + dir);
    // Many messages arriving at once make one scan, a moment later.
    settle = event::Timer(ctx.loop(), [&] { incoming->request_scan(qmgr::ScanKind::kIncoming); });
    inotify_watch = event::IoWatch(ctx.loop(), fd, event::IoWatch::kRead, [&](short) {
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
      if (!settle.pending()) settle.start(std::chrono::milliseconds(10));
    });
    fallback = event::Timer(ctx.loop(), [&] { incoming->request_scan(); });
    fallback.start_every(ctx.config().seconds("queue_run_delay"));
    incoming->request_scan();  // whatever arrived while qmgr was down, and active/ of the last run
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer&) {
    // A wake-up: the byte itself carries nothing qmgr needs yet. The scan
    // also notices what ternsuper took out of active/.
    fd.reset();
    incoming->request_scan();
    ctx.client_done();
  };
  spec.on_stop = [&](server::Context&) {
    // Destroyed, not only cancelled: they live in main() and would
    // otherwise outlive the skeleton's loop (which panics on that).
    inotify_watch = event::IoWatch();
    fallback = event::Timer();
    settle = event::Timer();
  };
  // They belong to the skeleton's loop, which must outlive them: destroyed
  // here, not after run_service() returns (that panicked at every stop).
  spec.on_exit = [&](server::Context&) {
    inotify_watch = event::IoWatch();
    fallback = event::Timer();
    settle = event::Timer();
  };
  return server::run_service(argc, argv, std::move(spec));
}
