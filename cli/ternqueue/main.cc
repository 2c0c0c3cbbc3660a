// ternqueue(1): the queue as an administrator sees it (Postfix's postqueue).
//
//   ternqueue [-c DIR] -p            list the queue (mailq)
//   ternqueue [-c DIR] -j            the same as JSON, one message per line
//   ternqueue [-c DIR] -i ID         one message's entry
//   ternqueue [-c DIR] -f            flush: ask qmgr to try every deferred
//                                    message now (the 'F' request on
//                                    public/qmgr, qmgr/main.cc)
//   ternqueue [-c DIR] -s DOMAIN     the same for the deferred messages with
//                                    recipients in DOMAIN (the 'S' request)
//
// Who may read the queue directories (root, the mail system, the owner of a
// personal instance) lists them directly; anyone else gets the same listing
// from showq(8) over public/showq (common/queue/showq_protocol.h). Either
// way the entries go through one formatter (common/queue/queue_listing.h),
// so the output is the same byte for byte, and it is printed as it comes: a
// large queue is never held in memory.

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "build_paths.h"
#include "common/base/fd.h"
#include "common/config/main_cf.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"
#include "common/queue/queue_listing.h"
#include "common/queue/showq_protocol.h"
#include "common/server/trigger.h"

namespace {

using namespace tern;
using queue::ListingFormatter;

// How long showq may keep us waiting for its next bytes.
constexpr int kShowqTimeoutSeconds = 60;

int usage() {
  std::fprintf(stderr, "usage: ternqueue [-c config_dir] -p | -j | -i queue_id | -f | -s domain\n");
  return 2;
}

void out(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

[[noreturn]] void fatal(const std::string& text) {
  std::fflush(stdout);
  std::fprintf(stderr, "ternqueue: fatal: %s\n", text.c_str());
  std::exit(1);
}

// The queue as its readers see it. An Error with EACCES: ask showq.
Result<size_t> list_directly(const std::string& queue_dir, const std::string& only_id, ListingFormatter& f) {
  auto ids = queue::listed_ids(queue_dir, only_id);
  if (!ids) return ids.take_error();
  for (const auto& [q, id] : *ids) {
    auto e = queue::read_listing_entry(queue_dir, q, id);
    if (!e) {
      if (e.error().code == Errc::kSystem && e.error().err == EACCES) return e.take_error();
      continue;  // delivered or moved while we looked, or corrupt
    }
    out(f.entry(*e));
  }
  return f.count();
}

class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its LF; an error at EOF before END or on a
  // line longer than the protocol allows.
  Result<std::string> next() {
    for (;;) {
      size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        std::string line = buf_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        if (pos_ > 65536) {
          buf_.erase(0, pos_);
          pos_ = 0;
        }
        return line;
      }
      if (buf_.size() - pos_ > queue::showq::kMaxReplyLine) return make_error(Errc::kLimit, "showq: line too long");
      char chunk[16384];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return make_error(Errc::kTemporary, "showq: timed out");
        return sys_error("showq: read");
      }
      if (n == 0) return make_error(Errc::kTemporary, "showq: connection closed before the end of the listing");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
};

Result<size_t> list_through_showq(const std::string& queue_dir, const std::string& only_id, ListingFormatter& f) {
  std::string path = queue_dir + "/public/showq";
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return invalid("socket path too long: " + path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return sys_error("socket");
  Fd fd(s);
  timeval tv{kShowqTimeoutSeconds, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0)
    return sys_error("connect to " + path + " (is the mail system running?)");
  queue::showq::Request req;
  req.id = only_id;
  if (Status st = write_all(s, req.format()); !st) return st.take_error();
  LineReader reader(s);
  queue::showq::Decoder decoder;
  for (;;) {
    auto line = reader.next();
    if (!line) return line.take_error();
    auto ev = decoder.feed(*line);
    if (!ev) return ev.take_error();
    if (*ev == queue::showq::Decoder::Event::kEntry) out(f.entry(decoder.take_entry()));
    if (*ev == queue::showq::Decoder::Event::kEnd) return f.count();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_dir = build::kConfigDir;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) config_dir = env;
  char mode = 0;
  std::string only_id;
  int c;
  std::string site;
  while ((c = getopt(argc, argv, "c:pji:fs:")) != -1) {
    switch (c) {
      case 'f': mode = 'f'; break;
      case 's': mode = 's'; site = optarg; break;
      case 'c': config_dir = optarg; break;
      case 'p': mode = 'p'; break;
      case 'j': mode = 'j'; break;
      case 'i': mode = 'p'; only_id = optarg; break;
      default: return usage();
    }
  }
  if (!mode || optind != argc) return usage();
  if (!only_id.empty() && !queue::is_valid_queue_id(only_id)) {
    std::fprintf(stderr, "ternqueue: %s: no such message in the queue\n", only_id.c_str());
    return 1;
  }
  auto cf = config::MainCf::load(config_dir);
  if (!cf) fatal(cf.error().text);
  std::string queue_dir = cf->str("queue_directory");
  if (mode == 's') {
    // qmgr checks the name too; a clear message here beats a silent 'W'.
    bool ok = !site.empty() && site.size() <= 255;
    for (char ch : site)
      ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("-._:[]", ch));
    if (!ok) fatal("bad domain name: " + site);
    if (auto st = server::trigger(queue_dir + "/public/qmgr", "S" + site + "\n"); !st)
      fatal("cannot flush " + site + ": " + st.error().text + " (is the mail system running?)");
    return 0;
  }
  if (mode == 'f') {
    if (auto st = server::trigger(queue_dir + "/public/qmgr", 'F'); !st)
      fatal("cannot flush the queue: " + st.error().text + " (is the mail system running?)");
    return 0;
  }

  ListingFormatter f(mode == 'j' ? ListingFormatter::Style::kJson : ListingFormatter::Style::kText);
  auto listed = list_directly(queue_dir, only_id, f);
  if (!listed && listed.error().code == Errc::kSystem && listed.error().err == EACCES && f.count() == 0)
    listed = list_through_showq(queue_dir, only_id, f);
  if (!listed) fatal(listed.error().text);
  if (!only_id.empty() && *listed == 0) {
    std::fprintf(stderr, "ternqueue: %s: no such message in the queue\n", only_id.c_str());
    return 1;
  }
  out(f.finish());
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) fatal("write error on standard output");
  return 0;
}
