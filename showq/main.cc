// showq(8): the queue listing for users who may not read the queue. Serves
// the showq protocol (common/queue/showq_protocol.h) on public/showq to any
// local user: ternqueue(1) -p/-j/-i, mailq. Runs as mail_owner, chrooted to
// the queue directory (master.cf's chroot column); one process serves many
// clients (showq/session.h), the queue is read on the worker pool.

#include <map>
#include <memory>

#include "common/server/skeleton.h"
#include "showq/session.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::string queue_dir;
  std::map<showq::Session*, std::shared_ptr<showq::Session>> sessions;

  server::ServiceSpec spec;
  spec.program = "showq";
  spec.init_unprivileged = [&](server::Context& ctx) -> Status {
    queue_dir = ctx.jail_path(ctx.config().str("queue_directory"));
    return {};
  };
  spec.on_connection = [&](server::Context& ctx, Fd fd, const server::Peer&) {
    auto s = std::make_shared<showq::Session>(ctx.loop(), ctx.workers(), std::move(fd), queue_dir,
                                              [&sessions, &ctx](showq::Session* gone) {
                                                // Not from inside the session's own callback.
                                                ctx.loop().post([&sessions, gone] { sessions.erase(gone); });
                                                ctx.client_done();
                                              });
    sessions[s.get()] = s;
    s->start();
  };
  spec.on_stop = [&](server::Context&) {
    std::vector<std::shared_ptr<showq::Session>> all;
    for (auto& [p, s] : sessions) all.push_back(s);
    for (auto& s : all) s->close("stopping");
  };
  // showq's clients speak its protocol, not SMTP: a full process just closes.
  spec.overload_reply = "";
  int rc = server::run_service(argc, argv, std::move(spec));
  sessions.clear();
  return rc;
}
