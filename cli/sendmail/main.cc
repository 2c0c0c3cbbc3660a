// sendmail(1), mailq(1), newaliases(1): the Sendmail-compatible interface
// for local programs (cron, mutt, PHP's mail()). See man/sendmail.1.
//
//   sendmail [options] [recipient ...]     submit a message (-bm, the default)
//   sendmail -t [options] [recipient ...]  recipients from To:, Cc:, Bcc: too
//   sendmail -bs                           SMTP on standard input and output
//   sendmail -bp | mailq                   the queue (runs ternqueue -p)
//   sendmail -bi | -I | newaliases         rebuild the alias_database tables
//
// sendmail itself has no privileges: it reads the message, checks it
// (line_length_limit, message_size_limit, header_size_limit), and runs the
// set-gid terndrop(8), which writes it into maildrop/ (the stream between the
// two: common/queue/maildrop.h). Exit status: 0, or an EX_ code of
// sysexits.h (terndrop's own when it refused).

#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "build_paths.h"
#include "cli/sendmail/message.h"
#include "cli/sendmail/smtp.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/mail/address_list.h"
#include "common/table/table.h"

namespace {

using namespace tern;
using namespace tern::sendmail;

int fail(int status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(int status, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string text = vstrf(fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "sendmail: fatal: %s\n", text.c_str());
  return status;
}

enum class Mode { kDeliver, kSmtp, kQueue, kAliases, kFlush };

struct Options {
  Mode mode = Mode::kDeliver;
  bool extract = false;      // -t
  bool ignore_dots = false;  // -i, -oi
  bool have_sender = false;
  std::string sender;        // -f, -r
  bool have_fullname = false;
  std::string fullname;      // -F
  unsigned notify = 0;       // -N
  queue::DsnRet ret = queue::DsnRet::kUnspecified;  // -R
  std::string envid;         // -V
  std::string config_dir;    // -C, -c ("" : MAIL_CONFIG or the default)
  std::string flush_site;    // -qRsite ("" with -q: everything)
  std::vector<std::string> recipients;
};

std::string base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// -C names main.cf or its directory (Postfix's -C).
std::string config_dir_of(const std::string& arg) {
  struct stat st;
  if (::stat(arg.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    size_t slash = arg.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : arg.substr(0, slash);
  }
  return arg;
}

// Returns 0 or an exit status.
int parse_args(int argc, char** argv, Options* o) {
  std::string name = base_name(argv[0]);
  if (name == "mailq") o->mode = Mode::kQueue;
  if (name == "newaliases") o->mode = Mode::kAliases;
  // Postfix's sendmail option letters; those marked "ignored" are accepted
  // for compatibility and have no effect.
  int c;
  opterr = 0;
  while ((c = ::getopt(argc, argv, "+B:C:F:GIL:N:O:R:UV:X:b:c:f:h:imno:p:q::r:tvx")) != -1) {
    std::string arg = optarg ? optarg : "";
    switch (c) {
      case 'B': break;  // body type (7BIT, 8BITMIME): ignored, the message says it
      case 'C':
      case 'c': o->config_dir = config_dir_of(arg); break;
      case 'F': o->have_fullname = true; o->fullname = arg; break;
      case 'G': case 'U': case 'm': case 'n': case 'v': case 'x': break;  // ignored
      case 'I': o->mode = Mode::kAliases; break;
      case 'L': case 'O': case 'X': case 'h': case 'p': break;  // ignored (with a value)
      case 'N': {
        std::string list = arg;
        for (char& ch : list) if (ch == ' ') ch = ',';
        auto n = queue::parse_notify(list);
        if (!n) return fail(EX_USAGE, "-N %s: %s", arg.c_str(), n.error().text.c_str());
        o->notify = *n;
        break;
      }
      case 'R':
        if (equals_nocase(arg, "full")) o->ret = queue::DsnRet::kFull;
        else if (equals_nocase(arg, "hdrs")) o->ret = queue::DsnRet::kHdrs;
        else return fail(EX_USAGE, "-R %s: expected full or hdrs", arg.c_str());
        break;
      case 'V':
        // RFC 3461 4.4: printable ASCII, at most 100 characters (as xtext).
        if (arg.empty() || arg.size() > 100) return fail(EX_USAGE, "-V: an envelope ID of 1 to 100 characters");
        for (char ch : arg)
          if (ch < '!' || ch > '~') return fail(EX_USAGE, "-V: the envelope ID must be printable ASCII");
        o->envid = arg;
        break;
      case 'b':
        if (arg == "m") o->mode = Mode::kDeliver;
        else if (arg == "s") o->mode = Mode::kSmtp;
        else if (arg == "p") o->mode = Mode::kQueue;
        else if (arg == "i") o->mode = Mode::kAliases;
        else return fail(EX_USAGE, "-b%s is not supported (-bm, -bs, -bp and -bi are)", arg.c_str());
        break;
      case 'f':
      case 'r': {
        std::string s(trim(arg));
        if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
        o->have_sender = true;
        o->sender = s;
        break;
      }
      case 'i': o->ignore_dots = true; break;
      case 'o':
        // -oi is -i; -odi, -odb, -oem, -oXXX: ignored, as Postfix does.
        if (arg == "i") o->ignore_dots = true;
        break;
      case 'q': {
        // As Postfix's sendmail: -q flushes the queue (ternqueue -f), -qRsite
        // one site (ternqueue -s site); -q with an interval (-q30m) is what
        // a sendmail daemon would run, and qmgr runs the queue.
        std::string q = optarg ? optarg : "";
        if (q.empty()) {
          o->mode = Mode::kFlush;
        } else if (q[0] == 'R' && q.size() > 1) {
          o->mode = Mode::kFlush;
          o->flush_site = q.substr(1);
        } else {
          return fail(EX_USAGE, "-q%s is not supported (-q and -qRsite are): the queue manager runs the queue",
                      q.c_str());
        }
        break;
      }
      case 't': o->extract = true; break;
      default:
        return fail(EX_USAGE, "unknown option -%c or missing value; usage: sendmail [-t] [-i] [-f sender] "
                              "[-F name] [recipient ...]",
                    optopt ? optopt : '?');
    }
  }
  for (int i = optind; i < argc; ++i) o->recipients.push_back(argv[i]);
  return 0;
}

// A display name as an RFC 5322 phrase: atoms as they are, anything else as
// a quoted string.
std::string phrase(std::string_view name) {
  bool plain = true;
  for (unsigned char ch : name)
    if (!(std::isalnum(ch) || std::strchr(" !#$%&'*+-/=?^_`{|}~", ch) || ch >= 0x80)) plain = false;
  if (plain) return std::string(name);
  std::string q = "\"";
  for (char ch : name) {
    if (ch == '"' || ch == '\\') q += '\\';
    if (ch != '\r' && ch != '\n') q += ch;
  }
  return q + "\"";
}

std::string full_name(const Options& o, const passwd* pw) {
  if (o.have_fullname) return o.fullname;
  if (const char* env = std::getenv("NAME"); env && *env) return env;
  if (pw && pw->pw_gecos) {
    std::string g = pw->pw_gecos;
    return g.substr(0, g.find(','));
  }
  return "";
}

MessageOptions message_options(const Options& o, const config::MainCf& cf, const std::string& pass_config) {
  MessageOptions m;
  m.terndrop = cf.str("command_directory") + "/terndrop";
  m.config_dir = pass_config;
  m.extract_recipients = o.extract;
  m.notify = o.notify;
  m.size_limit = static_cast<uint64_t>(cf.integer("message_size_limit"));
  m.header_size_limit = static_cast<size_t>(cf.integer("header_size_limit"));
  m.header_count_limit = static_cast<size_t>(cf.integer("header_count_limit"));
  return m;
}

int run_smtp_mode(const Options& o, const config::MainCf& cf, const std::string& pass_config) {
  SmtpOptions s;
  s.hostname = cf.str("myhostname");
  s.banner = cf.str("smtpd_banner");
  s.line_limit = static_cast<size_t>(cf.integer("line_length_limit"));
  s.message = message_options(o, cf, pass_config);
  s.message.extract_recipients = false;
  return run_smtp(s);
}

int run_deliver(const Options& o, const config::MainCf& cf, const std::string& pass_config) {
  const passwd* pw = ::getpwuid(::getuid());
  queue::Submission env;
  if (o.have_sender) {
    env.sender = o.sender;
  } else {
    if (!pw) return fail(EX_USAGE, "no login name for user ID %lu: give the sender with -f",
                         static_cast<unsigned long>(::getuid()));
    env.sender = pw->pw_name;
  }
  env.ret = o.ret;
  env.envid = o.envid;
  for (const auto& arg : o.recipients) {
    auto list = mail::parse_address_list(arg);
    if (!list) return fail(EX_DATAERR, "recipient %s: %s", arg.c_str(), list.error().text.c_str());
    for (auto& a : *list) {
      queue::Recipient r;
      r.address = std::move(a);
      r.notify = o.notify;
      env.recipients.push_back(std::move(r));
    }
  }
  if (env.recipients.empty() && !o.extract)
    return fail(EX_USAGE, "no recipient addresses: name them as arguments, or use -t to take them from the message");

  MessageOptions m = message_options(o, cf, pass_config);
  if (!env.sender.empty()) {
    std::string from = mail::qualify(env.sender, cf.str("myorigin"));
    std::string name = full_name(o, pw);
    m.from_header = name.empty() ? "From: " + from : "From: " + phrase(name) + " <" + from + ">";
  }
  StdinLines in(static_cast<size_t>(cf.integer("line_length_limit")));
  in.long_lines(true);  // header lines are still held to the limit (submit_message)
  DotEndsInput message(in, o.ignore_dots);
  Submitted r = submit_message(message, std::move(env), m);
  if (r.status != EX_OK && !r.error.empty()) return fail(r.status, "%s", r.error.c_str());
  return r.status;
}

// newaliases: every lmdb table of alias_database rebuilt from its source
// file, as "ternmap -a" does; other types have nothing to build.
int run_aliases(const config::MainCf& cf) {
  int status = 0;
  for (const auto& spec : cf.list("alias_database")) {
    auto parsed = table::parse_spec(spec);
    if (!parsed) return fail(EX_CONFIG, "alias_database: %s", parsed.error().text.c_str());
    if (parsed->type != "lmdb") continue;
    std::vector<std::string> warnings;
    auto st = table::build_from_source(spec, true, &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "sendmail: warning: %s\n", w.c_str());
    if (!st) status = fail(st.error().code == Errc::kSystem ? EX_CANTCREAT : EX_DATAERR, "%s", st.error().text.c_str());
  }
  return status;
}

// mailq (-bp): ternqueue -p; -q: ternqueue -f; -qRsite: ternqueue -s site.
int run_queue(const config::MainCf& cf, const std::string& pass_config, const std::vector<std::string>& what) {
  std::string ternqueue = cf.str("command_directory") + "/ternqueue";
  std::vector<std::string> args = {ternqueue};
  if (!pass_config.empty()) {
    args.push_back("-c");
    args.push_back(pass_config);
  }
  args.insert(args.end(), what.begin(), what.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(ternqueue.c_str(), argv.data());
  return fail(EX_OSFILE, "execute %s: %s", ternqueue.c_str(), std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options o;
  if (int st = parse_args(argc, argv, &o)) return st;
  // The configuration directory: -C/-c, else MAIL_CONFIG, else the default.
  // terndrop decides for itself whether it may use a non-default one.
  std::string dir = o.config_dir;
  if (dir.empty()) {
    const char* env = std::getenv("MAIL_CONFIG");
    if (env && *env) dir = env;
  }
  std::string pass_config = dir;
  if (dir.empty()) dir = build::kConfigDir;
  std::vector<std::string> warnings;
  auto cf = config::MainCf::load(dir, &warnings);
  if (!cf) return fail(EX_CONFIG, "%s", cf.error().text.c_str());
  if (auto v = cf->validate(); !v) return fail(EX_CONFIG, "%s", v.error().text.c_str());
  switch (o.mode) {
    case Mode::kQueue: return run_queue(*cf, pass_config, {"-p"});
    case Mode::kFlush:
      return run_queue(*cf, pass_config,
                       o.flush_site.empty() ? std::vector<std::string>{"-f"} : std::vector<std::string>{"-s", o.flush_site});
    case Mode::kAliases: return run_aliases(*cf);
    case Mode::kSmtp: return run_smtp_mode(o, *cf, pass_config);
    case Mode::kDeliver: break;
  }
  int status = run_deliver(o, *cf, pass_config);
  if (std::fflush(stdout) != 0 && status == 0) return fail(EX_IOERR, "write standard output: %s", std::strerror(errno));
  return status;
}
