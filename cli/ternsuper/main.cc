// ternsuper(1): the administrator's queue operations (Postfix's postsuper).
//
//   ternsuper [-c DIR] [-v] [-s] [-d ID|ALL|-] [-h ID|ALL|-] [-H ID|ALL|-]
//             [-r ID|ALL|-] [queue ...]
//
//   -s   check the queue's structure and repair it (queue_repair.h)
//   -d   delete            -h  put on hold
//   -H   release from hold -r  requeue (qmgr routes it afresh)
// Each of -d/-h/-H/-r may be repeated; "ALL" means every message in the
// queues it applies to, "-" reads IDs from standard input, one per line. The
// queue arguments (incoming, active, deferred, hold, and corrupt for -d)
// restrict where messages are looked for; the defaults and what each
// operation does, and how it races safely with qmgr, are in queue_admin.h.
// Order: -s first, then deletes, holds, releases, requeues, as postsuper.
//
// Logs one line per message to the mail log ("ID: removed", "ID: placed on
// hold", "ID: released from hold", "ID: requeued") through its own
// LogWriter (maillog_file or syslog), and a summary to standard error and
// the log: "ternsuper: Deleted: 3 messages". Then wakes qmgr through
// public/qmgr so it notices at once. Runs as root, or as the owner of the
// queue (a personal instance). Exit status: 0; 1 when something failed; 2
// bad usage.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "build_paths.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/queue/queue_admin.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"
#include "common/queue/queue_repair.h"
#include "common/server/log_writer.h"
#include "common/server/trigger.h"

namespace {

using namespace tern;
using queue::AdminOp;

constexpr size_t kMaxStdinLine = 1024;
constexpr size_t kMaxStdinIds = 10000000;

struct Request {
  AdminOp op;
  std::string arg;  // an ID, "ALL" or "-"
};

struct OpText {
  const char* logged;   // "removed"
  const char* summary;  // "Deleted"
};

OpText text_of(AdminOp op) {
  switch (op) {
    case AdminOp::kDelete: return {"removed", "Deleted"};
    case AdminOp::kHold: return {"placed on hold", "Placed on hold"};
    case AdminOp::kRelease: return {"released from hold", "Released from hold"};
    case AdminOp::kRequeue: return {"requeued", "Requeued"};
  }
  return {"?", "?"};
}

int usage() {
  std::fprintf(stderr,
               "usage: ternsuper [-c config_dir] [-v] [-s] [-d queue_id|ALL|-] [-h queue_id|ALL|-]\n"
               "                 [-H queue_id|ALL|-] [-r queue_id|ALL|-] [queue ...]\n");
  return 2;
}

// "ternsuper: <prefix><text>" on the terminal (postsuper's form).
void say(const char* prefix, const std::string& text) {
  std::fprintf(stderr, "ternsuper: %s%s\n", prefix, text.c_str());
}

class Super {
 public:
  Super(std::string queue_dir, std::vector<queue::Queue> queues) : dir_(std::move(queue_dir)), queues_(std::move(queues)) {}

  bool failed() const { return failed_; }
  int acted() const { return acted_; }

  void repair(const queue::RepairOptions& o) {
    auto report = queue::repair_queue(dir_, o);
    if (!report) return error(report.error().text);
    for (const auto& r : report->repairs) {
      log::warning("%s", r.c_str());
      say("warning: ", r);
    }
    for (const auto& w : report->warnings) {
      log::warning("%s", w.c_str());
      say("warning: ", w);
    }
    if (!report->repairs.empty()) {
      summary(strf("Repaired: %zu problem%s", report->repairs.size(), report->repairs.size() == 1 ? "" : "s"));
      ++acted_;
    }
  }

  void run(AdminOp op, const std::vector<std::string>& args) {
    std::vector<queue::Queue> where = queues_;
    if (where.empty()) where = queue::default_admin_queues(op);
    for (auto q : where) {
      if (!queue::admin_queue_allowed(op, q)) {
        return error(strf("-%c does not apply to %s/", letter(op), std::string(queue::queue_name(q)).c_str()));
      }
    }
    int count = 0;
    for (const auto& arg : args) {
      if (arg == "ALL") {
        std::vector<std::pair<queue::Queue, std::string>> done;
        std::vector<queue::AdminFailure> failures;
        auto n = queue::admin_all(dir_, op, where, &done, &failures);
        for (const auto& [q, id] : done) log::info("%s: %s", id.c_str(), text_of(op).logged);
        for (const auto& f : failures) error(f.id + ": " + f.text);
        if (!n) error(n.error().text);
        else count += *n;
        continue;
      }
      if (!queue::is_valid_queue_id(arg)) {
        error("not a queue ID: " + printable(arg));
        continue;
      }
      auto q = queue::admin_one(dir_, op, arg, where);
      if (!q) {
        if (q.error().code == Errc::kNotFound) say("warning: ", arg + ": no such message in " + names(where));
        else error(q.error().text);
        continue;
      }
      log::info("%s: %s", arg.c_str(), text_of(op).logged);
      ++count;
    }
    acted_ += count;
    if (count > 0) summary(strf("%s: %d message%s", text_of(op).summary, count, count == 1 ? "" : "s"));
  }

 private:
  static char letter(AdminOp op) {
    switch (op) {
      case AdminOp::kDelete: return 'd';
      case AdminOp::kHold: return 'h';
      case AdminOp::kRelease: return 'H';
      case AdminOp::kRequeue: return 'r';
    }
    return '?';
  }

  static std::string names(const std::vector<queue::Queue>& qs) {
    std::string out;
    for (auto q : qs) out += (out.empty() ? "" : ", ") + std::string(queue::queue_name(q)) + "/";
    return out;
  }

  static std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    return out;
  }

  void summary(const std::string& text) {
    log::info("%s", text.c_str());
    say("", text);
  }

  void error(const std::string& text) {
    log::error("%s", text.c_str());
    say("error: ", text);
    failed_ = true;
  }

  std::string dir_;
  std::vector<queue::Queue> queues_;
  bool failed_ = false;
  int acted_ = 0;
};

// "-" arguments: IDs from standard input, one per line (bounded).
std::vector<std::string> expand_stdin(const std::vector<std::string>& args, bool& stdin_used, bool& bad) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a != "-") {
      out.push_back(a);
      continue;
    }
    if (stdin_used) continue;  // one standard input for all the "-"
    stdin_used = true;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.size() > kMaxStdinLine || out.size() >= kMaxStdinIds) {
        std::fprintf(stderr, "ternsuper: fatal: standard input: line too long or too many lines\n");
        bad = true;
        return {};
      }
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (!line.empty()) out.push_back(line);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_dir = build::kConfigDir;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) config_dir = env;
  bool repair = false;
  int verbose = 0;
  std::vector<std::string> ops[4];  // indexed by AdminOp
  int c;
  while ((c = getopt(argc, argv, "c:d:h:H:r:sv")) != -1) {
    switch (c) {
      case 'c': config_dir = optarg; break;
      case 'd': ops[static_cast<int>(AdminOp::kDelete)].push_back(optarg); break;
      case 'h': ops[static_cast<int>(AdminOp::kHold)].push_back(optarg); break;
      case 'H': ops[static_cast<int>(AdminOp::kRelease)].push_back(optarg); break;
      case 'r': ops[static_cast<int>(AdminOp::kRequeue)].push_back(optarg); break;
      case 's': repair = true; break;
      case 'v': ++verbose; break;
      default: return usage();
    }
  }
  std::vector<queue::Queue> queues;
  for (int i = optind; i < argc; ++i) {
    auto q = queue::parse_queue_name(argv[i]);
    if (!q) {
      std::fprintf(stderr, "ternsuper: fatal: unknown queue: %s\n", argv[i]);
      return 2;
    }
    queues.push_back(*q);
  }
  bool any = repair;
  for (auto& v : ops) any = any || !v.empty();
  if (!any) return usage();

  log::init("ternsuper");
  log::set_verbose(verbose);
  auto cf = config::MainCf::load(config_dir);
  if (!cf) {
    std::fprintf(stderr, "ternsuper: fatal: %s\n", cf.error().text.c_str());
    return 1;
  }
  log::set_syslog_name(cf->str("syslog_name"));
  std::string queue_dir = cf->str("queue_directory");

  // Root, or the owner of the queue (an instance run without root).
  struct stat qs;
  std::string incoming = queue_dir + "/" + std::string(queue::queue_name(queue::Queue::kIncoming));
  if (::stat(incoming.c_str(), &qs) < 0) {
    std::fprintf(stderr, "ternsuper: fatal: %s: %s\n", incoming.c_str(), std::strerror(errno));
    return 1;
  }
  if (::geteuid() != 0 && ::geteuid() != qs.st_uid) {
    std::fprintf(stderr, "ternsuper: fatal: only root or the owner of %s may change the queue\n", queue_dir.c_str());
    return 1;
  }

  server::LogWriter writer;
  if (auto s = writer.open(*cf); !s) std::fprintf(stderr, "ternsuper: warning: log: %s\n", s.error().text.c_str());
  log::set_sink([&writer, verbose](log::Level level, std::string_view tag, std::string_view text) {
    std::string line(tag);
    line.append(": ").append(text);
    writer.write(level, line);
    if (verbose && level >= log::Level::kInfo) std::fprintf(stderr, "ternsuper: %.*s\n", (int)text.size(), text.data());
  });

  bool stdin_used = false, bad_stdin = false;
  Super super(queue_dir, queues);
  if (repair) {
    queue::RepairOptions o;
    o.uid = qs.st_uid;
    o.gid = qs.st_gid;
    o.fix_owner = ::geteuid() == 0;
    o.now = system_clock().wall_now();
    super.repair(o);
  }
  for (AdminOp op : {AdminOp::kDelete, AdminOp::kHold, AdminOp::kRelease, AdminOp::kRequeue}) {
    auto& args = ops[static_cast<int>(op)];
    if (args.empty()) continue;
    auto ids = expand_stdin(args, stdin_used, bad_stdin);
    if (bad_stdin) return 1;
    super.run(op, ids);
  }
  // qmgr notices at once: released and requeued mail, and what left active/.
  if (super.acted() > 0) {
    std::string sock = queue_dir + "/public/qmgr";
    if (auto s = server::trigger(sock); !s) log::debug("wake-up of qmgr: %s", s.error().text.c_str());
  }
  return super.failed() ? 1 : 0;
}
