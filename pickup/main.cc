// pickup(8): takes local submissions from maildrop/ into the queue. See
// man/pickup.8 and pickup/pickup.h. One resident process (master.cf maxproc
// 1), chrooted in the queue directory, woken by inotify on maildrop/, by a
// byte on public/pickup (terndrop after each submission) and by master's
// wakeup column (60 s), which also covers a missed notification.

#include <sys/inotify.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"
#include "common/server/skeleton.h"
#include "pickup/pickup.h"
#include "pickup/settings.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::unique_ptr<pickup::Settings> settings;
  std::optional<pickup::Scanner> scanner;
  queue::QueueIdGenerator ids;
  Fd inotify;
  event::IoWatch inotify_watch;
  event::Timer settle;

  server::ServiceSpec spec;
  spec.program = "pickup";
  spec.resident = true;
  spec.init_privileged = [&](server::Context& ctx) -> Status {
    auto s = pickup::Settings::load(ctx.config());
    if (!s) return s.take_error();
    settings = std::move(*s);
    for (auto& file : pickup::Settings::table_files(ctx.config()))
      if (auto w = ctx.watch_file(file); !w) return w.take_error();
    return {};
  };
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    settings->queue_dir = ctx.jail_path(settings->queue_dir);
    settings->cleanup.queue_dir = settings->queue_dir;
    scanner.emplace(ctx.workers(), *settings, ids, ctx.clock());
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return sys_error("inotify_init1");
    inotify = Fd(fd);
    std::string dir = settings->queue_dir + "/" + std::string(queue::queue_name(queue::Queue::kMaildrop));
    // terndrop renames each finished file into place.
    if (inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO) < 0) return sys_error("inotify_add_watch " + dir);
    // Many submissions at once make one scan, a moment later.
    settle = event::Timer(ctx.loop(), [&] { scanner->request_scan(); });
    inotify_watch = event::IoWatch(ctx.loop(), fd, event::IoWatch::kRead, [&](short) {
      char buf[4096];
      while (::read(inotify.get(), buf, sizeof buf) > 0) {
      }
      if (!settle.pending()) settle.start(std::chrono::milliseconds(10));
    });
    scanner->request_scan();  // what arrived while pickup was not running
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer&) {
    // A wake-up from terndrop or master: the byte carries nothing more.
    fd.reset();
    scanner->request_scan();
    ctx.client_done();
  };
  spec.on_stop = [&](server::Context&) {
    // Released, not just cancelled: the loop they belong to is destroyed
    // before main's locals, and must not outlive a watch.
    inotify_watch = event::IoWatch();
    settle = event::Timer();
  };
  return server::run_service(argc, argv, std::move(spec));
}
