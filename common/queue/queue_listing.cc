// The queue listing (queue_listing.h).

#include "common/queue/queue_listing.h"

#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "common/base/strings.h"
#include "common/mail/utf8.h"
#include "common/queue/defer_log.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

// The mark Postfix's mailq puts after an ID: * active, ! on hold.
const char* mark(Queue q) {
  if (q == Queue::kActive) return "*";
  if (q == Queue::kHold) return "!";
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
        if (c < 0x20 || c == 0x7f) out += strf("\\u%04x", c);
        else out += static_cast<char>(c);
    }
  }
  return out;
}

long long arrival_seconds(const ListingEntry& e) {
  // Floor division: an arrival before 1970 cannot be written, but be exact.
  return e.arrival_us >= 0 ? e.arrival_us / 1000000 : -((-e.arrival_us + 999999) / 1000000);
}

// A reason as mailq prints it: on a terminal, so control characters
// (C0, DEL and C1) become spaces and bytes that are not UTF-8 "?".
std::string display_reason(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += ' ';
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    auto cp = mail::decode_utf8(s.substr(i));
    if (cp.length == 0) {
      out += '?';
      ++i;
    } else if (cp.value < 0xa0) {
      out += ' ';
      i += cp.length;
    } else {
      out.append(s.substr(i, cp.length));
      i += cp.length;
    }
  }
  return out;
}

std::string text_entry(const ListingEntry& e) {
  time_t t = static_cast<time_t>(arrival_seconds(e));
  tm lt{};
  char when[32] = "?";
  if (localtime_r(&t, &lt)) strftime(when, sizeof when, "%a %b %e %H:%M:%S", &lt);
  std::string out = strf("%s%s %8llu %s  %s\n", e.id.c_str(), mark(e.where), static_cast<unsigned long long>(e.size),
                         when, e.sender.empty() ? "MAILER-DAEMON" : e.sender.c_str());
  const std::string* last_reason = nullptr;
  for (const auto& r : e.recipients) {
    if (is_final(r.status)) continue;
    // As Postfix's mailq: the reason right-aligned in 78 columns, printed
    // once for a run of recipients that share it.
    if (!r.reason.empty() && (!last_reason || *last_reason != r.reason)) {
      std::string shown = display_reason(r.reason);
      int pad = 76 - static_cast<int>(shown.size());
      out += strf("%*s(%s)\n", pad > 0 ? pad : 0, "", shown.c_str());
    }
    last_reason = r.reason.empty() ? nullptr : &r.reason;
    out += strf("%48s%s\n", "", r.address.c_str());
  }
  out += "\n";
  return out;
}

std::string json_entry(const ListingEntry& e) {
  std::string line = "{\"queue_name\": \"" + std::string(queue_name(e.where)) + "\", \"queue_id\": \"" +
                     json_escape(e.id) + "\", \"arrival_time\": " + std::to_string(arrival_seconds(e)) +
                     ", \"message_size\": " + std::to_string(e.size) + ", \"sender\": \"" + json_escape(e.sender) +
                     "\", \"recipients\": [";
  bool first = true;
  for (const auto& r : e.recipients) {
    line += std::string(first ? "" : ", ") + "{\"address\": \"" + json_escape(r.address) + "\", \"status\": \"" +
            std::string(status_name(r.status)) + "\"" +
            (r.reason.empty() ? std::string() : ", \"delay_reason\": \"" + json_escape(r.reason) + "\"") + "}";
    first = false;
  }
  line += "]}\n";
  return line;
}

}  // namespace

Result<std::vector<std::pair<Queue, std::string>>> listed_ids(std::string_view queue_dir, std::string_view only_id) {
  std::vector<std::pair<Queue, std::string>> out;
  for (Queue q : kListedQueues) {
    auto ids = scan(queue_dir, q);
    if (!ids) return ids.take_error();
    for (auto& id : *ids) {
      if (!only_id.empty() && id != only_id) continue;
      out.emplace_back(q, std::move(id));
    }
  }
  return out;
}

Result<ListingEntry> read_listing_entry(std::string_view queue_dir, Queue where, std::string_view id) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + std::string(id) + "\"");
  auto reader = QfileReader::open(path_of(queue_dir, where, id));
  if (!reader) {
    if (reader.error().code == Errc::kSystem && reader.error().err == ENOENT)
      return make_error(Errc::kNotFound, std::string(id) + ": gone");
    return reader.take_error();
  }
  const Envelope& env = reader->envelope();
  ListingEntry e;
  e.where = where;
  e.id = std::string(id);
  e.arrival_us = std::chrono::duration_cast<std::chrono::microseconds>(env.arrival.time_since_epoch()).count();
  e.size = env.message_size;
  e.sender = env.sender;
  e.recipients.reserve(env.recipients.size());
  for (const auto& r : env.recipients) e.recipients.push_back({r.address, r.status, {}});
  if (where == Queue::kDeferred) {
    // Postfix's showq reads the defer logs of deferred/ only; so does this.
    auto log = read_defer_log(queue_dir, id);
    if (log) {
      for (size_t i = 0; i < e.recipients.size(); ++i) {
        ListingRecipient& r = e.recipients[i];
        const DeferRecord* d = log->find(i);
        if (is_final(r.status) || !d || d->address != r.address) continue;
        r.reason = d->reason.empty() ? d->reply : d->reason;
      }
    }
  }
  return e;
}

std::string ListingFormatter::entry(const ListingEntry& e) {
  ++count_;
  total_bytes_ += e.size;
  if (style_ == Style::kJson) return json_entry(e);
  std::string out;
  if (count_ == 1) out = "-Queue ID-          --Size-- ----Arrival Time---- -Sender/Recipient-------\n";
  return out + text_entry(e);
}

std::string ListingFormatter::finish() const {
  if (style_ == Style::kJson) return "";
  if (count_ == 0) return "Mail queue is empty\n";
  return strf("-- %llu Kbytes in %zu Request%s.\n", (total_bytes_ + 1023) / 1024, count_, count_ == 1 ? "" : "s");
}

}  // namespace tern::queue
