// terndrop(8): the set-gid helper that puts a local submission into
// maildrop/ (Postfix's postdrop). sendmail(1) runs it and writes the
// submission stream (common/queue/maildrop.h) to its standard input.
//
//   terndrop [-c config_dir] [-v]
//
// Installed root:terndrop mode 2755 by "ternctl check"; maildrop/ is
// tern:terndrop 1730, so only terndrop can create files there and nobody
// but the queue owner can list or read them.
//
// What it trusts and what not:
//   - The caller's real uid (getuid()) and that uid's login name from the
//     password file are the only trusted records it writes; the environment
//     ($USER, $LOGNAME) is never read for them. Everything in the stream
//     (sender, recipients, DSN options, the message) is recorded as the
//     caller's claim, and the stream has no way to name any other record.
//   - Running set-gid (getegid() != getgid()) for anyone but root, it takes
//     a configuration directory from -c or MAIL_CONFIG only when it is the
//     default one or is listed in alternate_config_directories of the
//     default main.cf (as Postfix's postdrop): another main.cf could point
//     queue_directory at a directory of the caller's choosing.
//   - local_login_sender_maps is enforced here, so sendmail fails at once;
//     pickup checks it again.
//
// The file: written as maildrop/<id>.tmp (mode 0644: pickup reads it
// through the "other" bits; maildrop/ is closed to others), fsynced,
// renamed to maildrop/<id>, and the rename made durable (maildrop/ cannot be
// opened for fsync by its group: durable.h says how). Then pickup is woken
// through public/pickup; a failed wake-up is fine (master's wakeup and
// pickup's inotify find the file). Mail is accepted while the daemons are
// stopped. A signal or any error removes the unfinished file.
//
// Exit status (sysexits.h): 0 queued; EX_USAGE bad arguments; EX_DATAERR a
// bad stream or a message over message_size_limit; EX_NOPERM a refused
// configuration directory or sender; EX_CONFIG a bad main.cf; EX_TEMPFAIL
// anything that may work later (a full disk, a table failure).

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "build_paths.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/queue/local_sender.h"
#include "common/queue/maildrop.h"
#include "common/queue/qfile_writer.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"
#include "common/server/trigger.h"
#include "common/table/table.h"

// Sanitizer builds only (CI's ASan+UBSan step): LeakSanitizer cannot
// inspect a set-gid process (it is not dumpable, so the leak checker's
// tracer cannot attach) and turns every exit into "LeakSanitizer has
// encountered a fatal error". AddressSanitizer and UBSan still check it.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace {

using namespace tern;

// The unfinished file, removed by die() and by a signal handler
// (async-signal-safe).
char g_tmp_path[PATH_MAX];

[[noreturn]] void die(int status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void die(int status, const char* fmt, ...) {
  if (g_tmp_path[0]) ::unlink(g_tmp_path);
  va_list ap;
  va_start(ap, fmt);
  std::string text = vstrf(fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "terndrop: fatal: %s\n", text.c_str());
  std::exit(status);
}

extern "C" void on_signal(int) {
  if (g_tmp_path[0]) ::unlink(g_tmp_path);
  ::_exit(EX_TEMPFAIL);
}

void catch_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigfillset(&sa.sa_mask);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::sigaction(sig, &sa, nullptr);
  // A low RLIMIT_FSIZE set by the caller must make write() fail (EFBIG),
  // which removes the file, not kill us with the file left behind.
  ::signal(SIGXFSZ, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
}

std::string real_dir(const std::string& dir) {
  char buf[PATH_MAX];
  if (::realpath(dir.c_str(), buf)) return buf;
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

// The configuration directory this caller may use (see the top comment).
std::string config_directory(const char* from_option) {
  const bool setgid = ::getegid() != ::getgid();
  const bool trusted = !setgid || ::getuid() == 0;
  std::string dir = build::kConfigDir;
  const char* env = std::getenv("MAIL_CONFIG");
  if (from_option) dir = from_option;
  else if (env && *env) dir = env;
  if (trusted || real_dir(dir) == real_dir(build::kConfigDir)) return dir;
  auto def = config::MainCf::load(build::kConfigDir);
  if (!def)
    die(EX_NOPERM, "%s: not authorized: only directories listed in alternate_config_directories of %s/main.cf may "
        "be used, and that file cannot be read: %s", dir.c_str(), build::kConfigDir, def.error().text.c_str());
  for (const auto& alt : def->list("alternate_config_directories"))
    if (real_dir(alt) == real_dir(dir)) return dir;
  die(EX_NOPERM, "%s: not authorized: not listed in alternate_config_directories of %s/main.cf", dir.c_str(),
      build::kConfigDir);
}

Result<size_t> read_stdin(char* buf, size_t n) {
  for (;;) {
    ssize_t got = ::read(0, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return sys_error("read standard input");
  }
}

int exit_for(const Error& e) {
  if (e.code == Errc::kInvalid || e.code == Errc::kLimit || e.code == Errc::kCorrupt) return EX_DATAERR;
  return EX_TEMPFAIL;
}

}  // namespace

int main(int argc, char** argv) {
  const char* config_option = nullptr;
  int c;
  while ((c = ::getopt(argc, argv, "c:v")) != -1) {
    switch (c) {
      case 'c': config_option = optarg; break;
      case 'v': break;
      default: die(EX_USAGE, "usage: terndrop [-c config_dir] [-v]");
    }
  }
  if (optind != argc) die(EX_USAGE, "usage: terndrop [-c config_dir] [-v]");
  catch_signals();

  std::string dir = config_directory(config_option);
  std::vector<std::string> warnings;
  auto cf = config::MainCf::load(dir, &warnings);
  if (!cf) die(EX_CONFIG, "%s", cf.error().text.c_str());
  if (auto v = cf->validate(); !v) die(EX_CONFIG, "%s", v.error().text.c_str());
  const std::string queue_dir = cf->str("queue_directory");

  const uid_t uid = ::getuid();
  std::string login;
  if (const passwd* pw = ::getpwuid(uid)) login = pw->pw_name;

  queue::SubmissionReader in(read_stdin);
  auto sub = in.envelope();
  if (!sub) die(exit_for(sub.error()), "%s", sub.error().text.c_str());

  std::vector<std::unique_ptr<table::Table>> tables;
  queue::LocalSenderPolicy policy;
  policy.delimiters = cf->str("recipient_delimiter");
  for (const auto& spec : cf->list("local_login_sender_maps")) {
    auto t = table::open(spec);
    if (!t) die(EX_TEMPFAIL, "local_login_sender_maps: %s", t.error().text.c_str());
    policy.maps.push_back(t->get());
    tables.push_back(std::move(*t));
  }
  if (auto st = queue::check_local_sender(policy, login, static_cast<long>(uid), sub->sender); !st)
    die(st.error().code == Errc::kTemporary ? EX_TEMPFAIL : EX_NOPERM, "%s", st.error().text.c_str());

  queue::QueueIdGenerator ids;
  const std::string id = ids.next();
  queue::WriterOptions opts;
  opts.size_limit = static_cast<uint64_t>(cf->integer("message_size_limit"));
  opts.tmp_name = std::string(queue::queue_name(queue::Queue::kMaildrop)) + "/" + id + ".tmp";
  opts.target = queue::Queue::kMaildrop;
  opts.mode = 0644;
  std::string tmp = queue_dir + "/" + opts.tmp_name;
  if (tmp.size() >= sizeof g_tmp_path) die(EX_CONFIG, "queue_directory too long: %s", queue_dir.c_str());
  // Named before it exists: a signal between open and the copy below must
  // still remove it.
  std::memcpy(g_tmp_path, tmp.c_str(), tmp.size() + 1);
  auto writer = queue::QfileWriter::create(
      queue_dir, id, queue::maildrop_envelope(*sub, system_clock().wall_now(), uid, login), opts);
  if (!writer) {
    g_tmp_path[0] = 0;
    die(writer.error().code == Errc::kSystem ? EX_TEMPFAIL : EX_DATAERR, "cannot create a file in %s/maildrop: %s",
        queue_dir.c_str(), writer.error().text.c_str());
  }
  std::string chunk;
  for (;;) {
    auto more = in.next_chunk(&chunk);
    if (!more) die(exit_for(more.error()), "%s", more.error().text.c_str());
    if (!*more) break;
    if (auto st = writer->append(chunk); !st) {
      if (st.error().code == Errc::kLimit)
        die(EX_DATAERR, "message larger than message_size_limit (%llu bytes)",
            static_cast<unsigned long long>(opts.size_limit));
      die(EX_TEMPFAIL, "%s", st.error().text.c_str());
    }
  }
  if (auto st = writer->finish(); !st) die(EX_TEMPFAIL, "%s", st.error().text.c_str());
  if (auto st = writer->commit(); !st) die(EX_TEMPFAIL, "%s", st.error().text.c_str());
  g_tmp_path[0] = 0;
  // The file is durable in maildrop/: a missed wake-up only delays it.
  (void)server::trigger(queue_dir + "/public/pickup");
  return 0;
}
