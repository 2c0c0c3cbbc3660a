#pragma once
// The queue listing shared by ternqueue(1) (-p, -j, -i) and showq(8): what a
// message in the queue looks like to mailq, and how it is printed.
//
// Which messages: those in active/, incoming/, deferred/ and hold/ (in that
// order, each sorted by ID, so oldest first within a queue), as Postfix's
// showq lists them. A file that cannot be read as a queue file (gone since
// the scan, or corrupt: qmgr moves it to corrupt/) is left out.
//
// Whoever reads the queue (ternqueue as root, showq) builds ListingEntry
// values; whoever prints (ternqueue, directly or from what showq sent) feeds
// them to ListingFormatter one at a time, so a large queue is listed without
// holding it all in memory, and both paths print the same bytes.
//
// The text form is Postfix's mailq:
//
//   -Queue ID-          --Size-- ----Arrival Time---- -Sender/Recipient-------
//   0J2XQ3V5K7A0AB1C0*      1234 Mon Jun 10 09:33:20  alice@example.org
//                                                   bob@example.org
//
//   -- 2 Kbytes in 1 Request.
//
// with "*" after the ID of a message in active/ and "!" after one on hold;
// only recipients not yet final are listed; "Mail queue is empty" when there
// is nothing. A recipient of a message in deferred/ with a reason in the
// defer log (defer_log.h) has it on the line before, in parentheses and
// right-aligned to column 78 as in Postfix's mailq (one line for several
// recipients in a row with the same reason; control characters shown as
// spaces, bytes that are not UTF-8 as "?"):
//
//   0J2XQ3V5K7C0AB1C0        10 Mon Jun 10 09:23:20  x@y
//         (connect to mx.example.net[192.0.2.7]:25: Connection refused)
//                                                   d@example.net
// The JSON form (-j) is one object per line, as postqueue -j:
//   {"queue_name": "active", "queue_id": "...", "arrival_time": 1718000000,
//    "message_size": 1234, "sender": "...", "recipients": [{"address": "...",
//    "status": "pending", "delay_reason": "..."}]}
// (every recipient, with its status word; delay_reason as postqueue -j,
// when there is one).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/queue/queue_dirs.h"

namespace tern::queue {

inline constexpr std::array kListedQueues = {Queue::kActive, Queue::kIncoming, Queue::kDeferred, Queue::kHold};

struct ListingRecipient {
  std::string address;
  RcptStatus status = RcptStatus::kPending;
  std::string reason;  // the latest deferral reason (deferred/ only), "" if none
  bool operator==(const ListingRecipient&) const = default;
};

struct ListingEntry {
  Queue where = Queue::kIncoming;
  std::string id;
  long long arrival_us = 0;  // microseconds since the epoch
  uint64_t size = 0;         // the message's bytes
  std::string sender;        // "" for the null sender
  std::vector<ListingRecipient> recipients;
  bool operator==(const ListingEntry&) const = default;
};

// The messages to list, in listing order: (queue, ID) for every file with a
// queue ID as its name in kListedQueues; only `only_id` when it is not empty.
// Blocking (worker pool).
Result<std::vector<std::pair<Queue, std::string>>> listed_ids(std::string_view queue_dir,
                                                              std::string_view only_id = {});

// Reads one message's entry (its envelope, and for deferred/ its defer
// log; a damaged or missing log only means no reasons). Blocking. Errc::kNotFound
// when the file is gone; the reader's errors otherwise.
Result<ListingEntry> read_listing_entry(std::string_view queue_dir, Queue where, std::string_view id);

// Formats a listing one entry at a time.
class ListingFormatter {
 public:
  enum class Style { kText, kJson };
  explicit ListingFormatter(Style style) : style_(style) {}
  // The text for one message (in text style, the column header before the
  // first one).
  std::string entry(const ListingEntry& e);
  // What ends the listing: the summary line, or "Mail queue is empty" (text
  // style); nothing for JSON.
  std::string finish() const;
  size_t count() const { return count_; }

 private:
  Style style_;
  size_t count_ = 0;
  unsigned long long total_bytes_ = 0;
};

}  // namespace tern::queue
