// terncat(1): print a queue file, as Postfix's postcat -q does.
//
//   terncat [-c DIR] [-e] [-h] [-b] [-r] ID     the message ID, searched in
//                                               every queue of queue_directory
//   terncat [-e] [-h] [-b] [-r] -f FILE          any queue file by path
//
// Prints "*** ENVELOPE RECORDS <where> ***" with the envelope (arrival,
// sender, attributes, each recipient with its status), then the message
// ("*** MESSAGE CONTENTS <where> ***"), then "*** MESSAGE FILE END <where>
// ***". -e envelope only, -h headers only, -b body only (combinable); -r
// prints the message bytes as stored (CRLF) instead of with LF line ends.
// A message without a final line end gets one before the end marker.
// Envelope values are printed with control characters and "%" as %XX, so a
// hostile address cannot rewrite the terminal; the message is printed as is.
//
// The configuration directory is -c DIR, else $MAIL_CONFIG, else the
// compiled default. Exit status: 0 printed; 1 not found, unreadable or
// corrupt; 2 bad usage.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "build_paths.h"
#include "common/base/strings.h"
#include "common/config/main_cf.h"
#include "common/queue/qfile.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"

namespace {

using namespace tern::queue;

struct Options {
  std::string config_dir;
  std::string file;  // -f
  std::string id;
  bool envelope = false;  // -e
  bool headers = false;   // -h
  bool body = false;      // -b
  bool raw = false;       // -r
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: terncat [-c DIR] [-e] [-h] [-b] [-r] ID\n"
               "       terncat [-e] [-h] [-b] [-r] -f FILE\n");
  std::exit(2);
}

[[noreturn]] void fatal(const std::string& text) {
  std::fprintf(stderr, "terncat: fatal: %s\n", text.c_str());
  std::exit(1);
}

Options parse_options(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt(argc, argv, "bc:ef:hr")) != -1) {
    switch (c) {
      case 'b': o.body = true; break;
      case 'c': o.config_dir = optarg; break;
      case 'e': o.envelope = true; break;
      case 'f': o.file = optarg; break;
      case 'h': o.headers = true; break;
      case 'r': o.raw = true; break;
      default: usage();
    }
  }
  if (o.file.empty()) {
    if (argc - optind != 1) usage();
    o.id = argv[optind];
  } else if (optind != argc) {
    usage();
  }
  if (o.config_dir.empty()) {
    const char* env = std::getenv("MAIL_CONFIG");
    o.config_dir = env && *env ? env : tern::build::kConfigDir;
  }
  return o;
}

// Control characters, DEL and "%" as %XX: printable and unambiguous.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '%')
      out += tern::strf("%%%02X", u);
    else
      out += c;
  }
  return out;
}

void field(const char* name, std::string_view value) { std::printf("%s: %s\n", name, printable(value).c_str()); }

std::string format_time(tern::WallTime t) {
  long long us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  char buf[64] = "?";
  if (::localtime_r(&secs, &tm)) std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return tern::strf("%s (%lld.%06lld)", buf, us / 1000000, us % 1000000);
}

void print_envelope(const Envelope& env, const std::string& where) {
  std::printf("*** ENVELOPE RECORDS %s ***\n", where.c_str());
  std::printf("format_version: %d\n", kQfileVersion);
  std::printf("message_size: %llu\n", static_cast<unsigned long long>(env.message_size));
  std::printf("message_arrival_time: %s\n", format_time(env.arrival).c_str());
  field("sender", env.sender);
  if (env.body != BodyType::kUnspecified) field("body_type", body_type_name(env.body));
  if (env.smtputf8) field("smtputf8", "yes");
  if (env.ret != DsnRet::kUnspecified) field("dsn_ret", dsn_ret_name(env.ret));
  if (!env.envid.empty()) field("dsn_envid", env.envid);
  for (const auto& [name, value] : env.attributes)
    std::printf("named_attribute: %s=%s\n", printable(name).c_str(), printable(value).c_str());
  for (const auto& r : env.recipients) {
    if (!r.original.empty()) field("original_recipient", r.original);
    field("recipient", r.address);
    field("recipient_status", status_name(r.status));
    if (!r.orcpt.empty()) field("dsn_orig_rcpt", r.orcpt);
    if (r.notify != 0) field("dsn_notify_flags", format_notify(r.notify));
  }
}

// Streams the message, splitting header and body at the first empty line.
class MessagePrinter {
 public:
  MessagePrinter(const Options& o, const std::string& where)
      : all_(!o.headers && !o.body), headers_(o.headers || all_), body_(o.body || all_), raw_(o.raw), where_(where) {}

  void start() {
    if (all_) std::printf("*** MESSAGE CONTENTS %s ***\n", where_.c_str());
    else if (headers_) std::printf("*** MESSAGE HEADERS %s ***\n", where_.c_str());
  }

  void feed(std::string_view bytes) {
    for (char c : bytes) {
      line_ += c;
      if (c == '\n') {
        end_line(true);
      } else if (line_.size() >= 65536 && c != '\r') {
        end_line(false);  // a very long line goes out in pieces
      }
    }
  }

  void finish() {
    if (!line_.empty()) end_line(true);
    if (in_header_) enter_body();
    // The end marker goes on a line of its own, even after a message
    // without a final line end (BDAT allows one).
    if (!at_line_start_) std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  void enter_body() {
    in_header_ = false;
    if (!all_ && body_) std::printf("*** MESSAGE BODY %s ***\n", where_.c_str());
  }

  void end_line(bool complete) {
    bool empty = !continued_ && (line_ == "\n" || line_ == "\r\n");
    continued_ = !complete;
    if (in_header_ && empty) {
      enter_body();
      if (all_) print(line_);
    } else if (in_header_ ? headers_ : body_) {
      print(line_);
    }
    line_.clear();
  }

  void print(std::string_view line) {
    if (line.empty()) return;
    at_line_start_ = line.back() == '\n';
    if (!raw_ && line.size() >= 2 && line.substr(line.size() - 2) == "\r\n") {
      line.remove_suffix(2);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      return;
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
  }

  const bool all_, headers_, body_, raw_;
  const std::string where_;
  std::string line_;
  bool in_header_ = true;
  bool continued_ = false;  // line_ continues a piece already printed
  bool at_line_start_ = true;  // what was printed ends with a line end
};

void print_message(const QfileReader& reader, const Options& o, const std::string& where) {
  MessagePrinter printer(o, where);
  printer.start();
  std::vector<char> buf(64 * 1024);
  for (uint64_t pos = 0;;) {
    auto got = reader.read_message(pos, buf.data(), buf.size());
    if (!got) fatal(got.error().text);
    if (*got == 0) break;
    printer.feed(std::string_view(buf.data(), *got));
    pos += *got;
  }
  printer.finish();
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  std::string path = o.file;
  std::string where = o.file;
  if (path.empty()) {
    if (!is_valid_queue_id(o.id)) fatal("not a queue ID: " + printable(o.id));
    auto cf = tern::config::MainCf::load(o.config_dir);
    if (!cf) fatal(cf.error().text);
    std::string queue_dir = cf->str("queue_directory");
    auto queue = locate(queue_dir, o.id);
    if (!queue) fatal(queue.error().text);
    path = path_of(queue_dir, *queue, o.id);
    where = relative_path_of(*queue, o.id);
  }
  auto reader = QfileReader::open(path);
  if (!reader) fatal(reader.error().text);

  bool show_envelope = o.envelope || (!o.headers && !o.body);
  bool show_message = o.headers || o.body || !o.envelope;
  if (show_envelope) print_envelope(reader->envelope(), where);
  if (show_message) print_message(*reader, o, where);
  std::printf("*** MESSAGE FILE END %s ***\n", where.c_str());
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) fatal("write error on standard output");
  return 0;
}
