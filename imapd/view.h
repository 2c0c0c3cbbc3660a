#pragma once
// What one session's client knows of its selected folder: the messages by
// sequence number, with the flags it was last told and its \Recent flags.
// Sequence numbers are per session (RFC 3501 2.3.1.2): they change only
// when this session's client is told (EXPUNGE, EXISTS), never because
// another session or a delivery changed the folder.
//
// update() compares the view with the folder's latest snapshot
// (folder_cache.h) and writes the untagged responses that bring the client
// up to date, in an order that keeps every sequence number valid where it
// is used: FETCH FLAGS for changed messages (numbers before any expunge),
// then EXPUNGE from the highest number down (each one's number is
// correct at the time it is read, RFC 3501 7.4.1), then EXISTS and RECENT
// for the new messages. When expunges may not be sent (during FETCH,
// STORE, SEARCH and with no command in progress, RFC 3501 7.4.1), the
// messages stay in the view, marked expunged, and go at a later update.
// No event loop and no I/O: unit-tested on its own.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "imapd/folder_cache.h"

namespace tern::imapd {

struct ViewMessage {
  uint32_t uid = 0;
  uint32_t keywords = 0;
  uint8_t system = 0;
  bool recent = false;
  bool expunged = false;  // gone from the folder, the client not told yet
};

class View {
 public:
  // Decides whether this session gets \Recent for a new message.
  using ClaimRecent = std::function<bool(const SnapMessage&)>;

  // SELECT/EXAMINE: every message of the snapshot.
  void reset(std::shared_ptr<const Snapshot> snap, const ClaimRecent& claim);
  // Brings the client up to date (see above); appends untagged responses
  // to *out. `with_uid`: the FETCH FLAGS responses carry the UID (during
  // UID commands, RFC 3501 6.4.8).
  void update(std::shared_ptr<const Snapshot> snap, bool allow_expunge, bool with_uid, const ClaimRecent& claim,
              std::string* out);
  // Whether update() would write anything.
  bool pending(const std::shared_ptr<const Snapshot>& snap) const;

  size_t size() const { return messages_.size(); }
  // 1-based.
  const ViewMessage& at(uint32_t seq) const { return messages_[seq - 1]; }
  const std::vector<ViewMessage>& messages() const { return messages_; }
  // The sequence number of a UID, or 0.
  uint32_t seq_of(uint32_t uid) const;
  // The largest UID in the view (0 when empty): "*" in UID sets.
  uint32_t last_uid() const { return messages_.empty() ? 0 : messages_.back().uid; }
  uint32_t recent() const;
  // The first message without \Seen (1-based), 0 when none (UNSEEN).
  uint32_t first_unseen() const;
  // Flags this session changed itself (STORE): the client is told by the
  // command, so no update repeats them.
  void set_flags(uint32_t uid, uint8_t system, uint32_t keywords);
  // The snapshot the view was last brought up to date with.
  const std::shared_ptr<const Snapshot>& known() const { return known_; }

 private:
  std::vector<ViewMessage> messages_;
  std::shared_ptr<const Snapshot> known_;
  bool has_expunged_ = false;
  size_t told_ = 0;  // the count the client was last told (EXISTS, EXPUNGE)
};

// "(\Seen $Junk)" for a message of a snapshot, \Recent included when set.
std::string flag_list(const Snapshot& snap, uint8_t system, uint32_t keywords, bool recent);
// "\Answered \Flagged \Deleted \Seen \Draft kw..." (FLAGS, PERMANENTFLAGS).
std::string folder_flags(const Snapshot& snap);

}  // namespace tern::imapd
