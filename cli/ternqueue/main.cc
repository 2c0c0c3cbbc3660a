// ternqueue(1): the queue as an administrator sees it (Postfix's postqueue).
//
//   ternqueue [-c DIR] -p            list the queue (mailq)
//   ternqueue [-c DIR] -j            the same as JSON, one message per line
//   ternqueue [-c DIR] -i ID         one message's entry
//
// Reads the queue directories directly, so it needs read access to them
// (root, or the owner of a personal instance). The listing for other users
// through the showq service, flush (-f) and the last delivery reason per
// recipient arrive with qmgr's scheduling.

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "build_paths.h"
#include "common/config/main_cf.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"

namespace {

using namespace tern;

struct Item {
  queue::Queue where;
  std::string id;
  queue::Envelope env;
};

// The mark Postfix's mailq puts after an ID: * active, ! on hold.
const char* mark(queue::Queue q) {
  if (q == queue::Queue::kActive) return "*";
  if (q == queue::Queue::kHold) return "!";
  return " ";
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

long long arrival_seconds(const queue::Envelope& env) {
  return std::chrono::duration_cast<std::chrono::seconds>(env.arrival.time_since_epoch()).count();
}

void print_list(const std::vector<Item>& items) {
  if (items.empty()) {
    std::printf("Mail queue is empty\n");
    return;
  }
  std::printf("-Queue ID-          --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
  unsigned long long total = 0;
  for (auto& it : items) {
    time_t t = static_cast<time_t>(arrival_seconds(it.env));
    tm lt;
    localtime_r(&t, &lt);
    char when[32];
    strftime(when, sizeof when, "%a %b %e %H:%M:%S", &lt);
    std::printf("%s%s %8llu %s  %s\n", it.id.c_str(), mark(it.where),
                static_cast<unsigned long long>(it.env.message_size), when,
                it.env.sender.empty() ? "MAILER-DAEMON" : it.env.sender.c_str());
    for (auto& r : it.env.recipients) {
      if (queue::is_final(r.status)) continue;
      std::printf("%48s%s\n", "", r.address.c_str());
    }
    std::printf("\n");
    total += it.env.message_size;
  }
  std::printf("-- %llu Kbytes in %zu Request%s.\n", (total + 1023) / 1024, items.size(), items.size() == 1 ? "" : "s");
}

void print_json(const std::vector<Item>& items) {
  for (auto& it : items) {
    std::string line = "{\"queue_name\": \"" + std::string(queue::queue_name(it.where)) + "\", \"queue_id\": \"" +
                       it.id + "\", \"arrival_time\": " + std::to_string(arrival_seconds(it.env)) +
                       ", \"message_size\": " + std::to_string(it.env.message_size) + ", \"sender\": \"" +
                       json_escape(it.env.sender) + "\", \"recipients\": [";
    bool first = true;
    for (auto& r : it.env.recipients) {
      line += std::string(first ? "" : ", ") + "{\"address\": \"" + json_escape(r.address) + "\", \"status\": \"" +
              std::string(queue::status_name(r.status)) + "\"}";
      first = false;
    }
    line += "]}";
    std::printf("%s\n", line.c_str());
  }
}

int usage() {
  std::fprintf(stderr, "usage: ternqueue [-c config_dir] -p | -j | -i queue_id\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_dir = build::kConfigDir;
  if (const char* env = std::getenv("MAIL_CONFIG"); env && *env) config_dir = env;
  char mode = 0;
  std::string only_id;
  int c;
  while ((c = getopt(argc, argv, "c:pji:")) != -1) {
    switch (c) {
      case 'c': config_dir = optarg; break;
      case 'p': mode = 'p'; break;
      case 'j': mode = 'j'; break;
      case 'i': mode = 'p'; only_id = optarg; break;
      default: return usage();
    }
  }
  if (!mode || optind != argc) return usage();
  auto cf = config::MainCf::load(config_dir);
  if (!cf) {
    std::fprintf(stderr, "ternqueue: fatal: %s\n", cf.error().text.c_str());
    return 1;
  }
  std::string queue_dir = cf->str("queue_directory");
  std::vector<Item> items;
  for (auto q : {queue::Queue::kActive, queue::Queue::kIncoming, queue::Queue::kDeferred, queue::Queue::kHold}) {
    auto ids = queue::scan(queue_dir, q);
    if (!ids) {
      std::fprintf(stderr, "ternqueue: fatal: %s%s\n", ids.error().text.c_str(),
                   ids.error().err == EACCES ? " (the queue is readable by root and the mail system only)" : "");
      return 1;
    }
    for (auto& id : *ids) {
      if (!only_id.empty() && id != only_id) continue;
      auto r = queue::QfileReader::open(queue::path_of(queue_dir, q, id));
      if (!r) continue;  // delivered or moved while we looked
      items.push_back({q, id, r->envelope()});
    }
  }
  if (!only_id.empty() && items.empty()) {
    std::fprintf(stderr, "ternqueue: %s: no such message in the queue\n", only_id.c_str());
    return 1;
  }
  if (mode == 'j') print_json(items);
  else print_list(items);
  return 0;
}
